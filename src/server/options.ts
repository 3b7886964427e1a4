/**
 * createServer's options: their types and docs (ServerOptions), their defaults stated once (SERVER_DEFAULTS), and
 * one schema that validates them (naming unknown keys) and fills those defaults in.
 */
import type { IncomingHttpHeaders, Server as HttpServer } from 'node:http';
import { z } from 'zod';
import type { HistoryLimits } from '../broker/history-memory.ts';
import type { Broker } from '../broker/types.ts';
import type { ChannelDefinition } from './channel.ts';
import type { Clock } from './clock.ts';
import { compressionSchema, type CompressionOptions } from './compression.ts';

/** How a client is connected: a WebSocket, or a long-poll session (`${mount}/longpoll`, docs/longpoll.md). */
export type TransportKind = 'websocket' | 'longpoll';

export interface ConnectInfo {
  /** Query parameters of the WebSocket request (long-poll: of its first GET), `vsn` included (Phoenix passes it to connect/3 too). */
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /**
   * The token of Phoenix's `authToken` option (subprotocol `base64url.bearer.phx.<base64>`; long-poll: the
   * `X-Phoenix-AuthToken` header), or null.
   */
  authToken: string | null;
  remoteAddress: string;
  transport: TransportKind;
}

/** `true` accepts, `false` refuses with HTTP 403; an object accepts with assigns and an optional socket id. */
export type ConnectResult = boolean | { assigns?: Record<string, unknown>; id?: string | null };
export type ConnectHook = (info: ConnectInfo) => ConnectResult | Promise<ConnectResult>;

export interface ServerTlsOptions {
  /** Certificate chain, PEM (leaf first). */
  cert: string | Buffer;
  /** Private key, PEM. */
  key: string | Buffer;
  /** Extra CA certificates, PEM. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * createServer's defaults, each stated here once: the schema below fills them in, `tether serve` starts from them
 * (src/ops/config.ts), and tests check the `@defaultValue` of every option below and the table in docs/server.md
 * against them. Nested options have their own: COMPRESSION_DEFAULTS, PUSH_DEDUP_DEFAULTS, HISTORY_LIMIT_DEFAULTS.
 */
export const SERVER_DEFAULTS = {
  port: 4000,
  host: '127.0.0.1',
  compression: false,
  mount: '/socket',
  maxFrameBytes: 1024 * 1024,
  maxConnections: 100_000,
  backlog: 4096,
  maxChannelsPerConnection: 100,
  messagesPerSecond: 10_000,
  messageBurst: 20_000,
  joinsPerSecond: 20,
  joinBurst: 200,
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  maxPendingHandshakes: 4096,
  inboundBacklogMessages: 1000,
  inboundBacklogBytes: 2 * 1024 * 1024,
  idleTimeoutMs: 60_000,
  outboundBudgetBytes: 4 * 1024 * 1024,
  slowConsumerGraceMs: 5000,
  framesPerTurn: 32,
  readBacklogFrames: 256,
  readBacklogBytes: 256 * 1024,
  closeGraceMs: 10_000,
  sweepIntervalMs: 1000,
  presenceBatchMs: 0,
  drainBatchSize: 500,
  drainIntervalMs: 50,
  drainTimeoutMs: 5000,
  drainReconnectWindowMs: 1000,
  drainHandoverMs: 3000,
  longPollWindowMs: 10_000,
  longPollIdleMs: 15_000,
  longPollMaxBodyBytes: 2 * 1024 * 1024,
  longPollMaxFramesPerPost: 100,
  longPollMaxQueuedMessages: 10_000,
} as const satisfies { readonly [K in keyof ServerOptions]?: ServerOptions[K] };

/** The hard cap's default, relative to the budget. */
export const HARD_CAP_FACTOR = 1.5;

/** De-duplication of resent pushes (docs/recovery.md). */
export interface ServerDedupOptions {
  /** Push ids remembered per client scope, least recently seen evicted first. @defaultValue `1024` */
  maxEntriesPerClient?: number;
  /** How long an id is remembered after it was last seen, in ms. @defaultValue `300000` (5 minutes) */
  ttlMs?: number;
  /** Client scopes remembered at once, least recently active forgotten first. @defaultValue `10000` */
  maxClients?: number;
}

/** createServer's options. Every default is in SERVER_DEFAULTS (the `@defaultValue` tags are checked against it). */
export interface ServerOptions {
  /** Port to listen on when the server creates its own HTTP server; 0 picks a free port. @defaultValue `4000` */
  port?: number;
  /** Address to bind. @defaultValue `'127.0.0.1'` */
  host?: string;
  /** Attach to an existing HTTP server instead of creating one (port/host/tls are then ignored). */
  httpServer?: HttpServer;
  /**
   * Serve `wss://` and `https://`: the server creates an HTTPS server with this certificate chain and key
   * (PEM), TLS 1.2 at least. `ca` adds CA certificates sent with the chain. Without it: plain `ws://`.
   */
  tls?: ServerTlsOptions;
  /**
   * permessage-deflate, off as in Phoenix and ws. `true` or an object turns it on for clients that offer it
   * (see CompressionOptions for its settings). The server always asks for server_no_context_takeover, so a
   * broadcast is compressed once for all its subscribers. The inflated size of a client message is capped by
   * `maxFrameBytes` (close 1009).
   * @defaultValue `false`
   */
  compression?: boolean | CompressionOptions;
  /** The endpoint is `${mount}/websocket`. @defaultValue `'/socket'` */
  mount?: string;
  /** Authenticates each connection before the upgrade. Without it: accept everyone. */
  connect?: ConnectHook;
  /** Topic pattern (exact or ending in `*`) -> channel definition. */
  channels: Readonly<Record<string, ChannelDefinition>>;
  /** Without it: a new MemoryBroker (single process). */
  broker?: Broker;
  /** Largest accepted client frame; bigger -> close 1009. @defaultValue `1048576` (1 MiB) */
  maxFrameBytes?: number;
  /** Open connections (plus upgrades in progress) beyond which upgrades get HTTP 503. @defaultValue `100000` */
  maxConnections?: number;
  /**
   * Length of the kernel's queue of accepted-but-not-yet-taken TCP connections (`listen(2)`'s backlog; the
   * kernel caps it at `net.core.somaxconn`), above Node's 511: a fleet reconnecting after a restart arrives
   * faster than a busy event loop takes connections, and an overflowing queue makes the kernel drop handshakes
   * that the clients' TCP then retries only after 1, 3, 7 s.
   * @defaultValue `4096`
   */
  backlog?: number;
  /** Joined channels per connection; the next join gets "too many channels joined". @defaultValue `100` */
  maxChannelsPerConnection?: number;
  /**
   * Frames (of any kind, heartbeats included) a connection may send per second. Over the limit a frame is
   * refused (`{"reason": "rate limited"}` when it has a ref); one more `messageBurst` of refused frames closes the
   * connection with 4002. The default is a guard against runaway clients that machine-speed request/reply on
   * loopback does not reach; lower it (and `messageBurst`) for public endpoints.
   * @defaultValue `10000`
   */
  messagesPerSecond?: number;
  /** Frames allowed at once after a quiet spell (see `messagesPerSecond`). @defaultValue `20000` */
  messageBurst?: number;
  /** The same as `messagesPerSecond` for joins, counted apart (a reconnect rejoins every channel at once). @defaultValue `20` */
  joinsPerSecond?: number;
  /** Joins allowed at once after a quiet spell. @defaultValue `200` */
  joinBurst?: number;
  /** A connect hook that has not settled after this long (ms) refuses the upgrade with HTTP 503. @defaultValue `10000` */
  connectTimeoutMs?: number;
  /**
   * A TCP connection that has not sent a complete HTTP request head (its upgrade request) this long (ms) after
   * it opened is destroyed. Not `connectTimeoutMs`, which times the connect hook after the head arrived.
   * @defaultValue `10000`
   */
  handshakeTimeoutMs?: number;
  /**
   * Connections still sending their request head beyond which new ones are destroyed at once. At least the
   * listen `backlog`: a fleet returning at once is accepted in one turn of the event loop, before any of its
   * request heads is read, and a lower bound cuts those legitimate handshakes. @defaultValue `4096`
   */
  maxPendingHandshakes?: number;
  /**
   * Frames one channel may hold while its join or an async `handleIn` is still running. Past it (or past
   * `inboundBacklogBytes`), a frame gets `{"reason": "inbound backlog full"}`; one more `inboundBacklogMessages`
   * of refusals in a row closes the connection with 4003. The default fits a full flush of the client's default
   * outbox (1000 messages, 1 MiB of payload plus framing).
   * @defaultValue `1000`
   */
  inboundBacklogMessages?: number;
  /** The same bound in bytes. @defaultValue `2097152` (2 MiB) */
  inboundBacklogBytes?: number;
  /** Close (4000) a connection that sent no frame for this long (ms). @defaultValue `60000` */
  idleTimeoutMs?: number;
  /** Outbound bytes a connection may have buffered. @defaultValue `4194304` (4 MiB) */
  outboundBudgetBytes?: number;
  /** How long (ms) a connection may stay over its budget before it is closed with 4001. @defaultValue `5000` */
  slowConsumerGraceMs?: number;
  /**
   * The most a connection may have queued for sending (`ws` bufferedAmount: what ws and the socket's writable
   * buffer hold). A frame that would take it past this is not queued and the connection is closed with 4001 at
   * once, without waiting for `slowConsumerGraceMs`; only control frames (the close frame, ws's pongs) may pass
   * it. Must be at least the budget.
   * @defaultValue `1.5x` `outboundBudgetBytes` (HARD_CAP_FACTOR)
   */
  outboundHardCapBytes?: number;
  /**
   * Fairness between connections: at most this many client frames of one connection are handled per turn of
   * the event loop; the rest wait behind other connections' frames (handled round-robin), in order.
   * @defaultValue `32`
   */
  framesPerTurn?: number;
  /**
   * A connection with more client frames waiting for their turn than this (or `readBacklogBytes`) stops being
   * read until they are handled, so TCP pushes back on the sender.
   * @defaultValue `256`
   */
  readBacklogFrames?: number;
  /** The same bound in bytes. @defaultValue `262144` (256 KiB) */
  readBacklogBytes?: number;
  /**
   * After the server sends a close frame (any code), a peer that has not answered it within this long (ms) is
   * cut (TCP destroyed) so its buffers are freed then, not after ws's 30 s. Checked by the sweep. A consumer
   * that stalls and resumes within it still reads its 4001; lower it to free memory sooner.
   * @defaultValue `10000`
   */
  closeGraceMs?: number;
  /** Period (ms) of the single timer that checks idleness and budgets of all connections. @defaultValue `1000` */
  sweepIntervalMs?: number;
  /**
   * Allowed `Origin`s: full origins (`https://app.example.com`), hosts (`example.com`), `*.` wildcards
   * (`https://*.example.com`, `*.example.com`). A request without Origin is allowed. `false` turns the check
   * off. Without it: off when bound to a loopback host, otherwise the Origin's host must equal the Host header's.
   */
  allowedOrigins?: readonly string[] | false;
  /** Presence diffs are collected this long (ms) into one presence_diff; 0 = end of the current task. @defaultValue `0` */
  presenceBatchMs?: number;
  /** close() closes this many connections (code 1012) per step. @defaultValue `500` */
  drainBatchSize?: number;
  /** Pause (ms) between drain steps. @defaultValue `50` */
  drainIntervalMs?: number;
  /** close() stops waiting for clients to finish the close handshake after this long (ms) and cuts them. @defaultValue `5000` */
  drainTimeoutMs?: number;
  /**
   * The window (ms) over which opted-in Tether clients spread their return after a drain (docs/recovery.md):
   * each waits out the rest of the drain, then a random delay within this window. Set it to about the restart
   * time or less: a client that comes back before the server is up is refused cheaply and retries within 0.9 s,
   * while one told to wait past the restart comes back that late. Stock clients never see it.
   * @defaultValue `1000`
   */
  drainReconnectWindowMs?: number;
  /**
   * How long (ms) a drain leaves the connections of Tether clients with another endpoint (`tether_move=1`) open
   * after its notice, so each opens its link to the other node first and leaves once that link is up; the 1012
   * batches reach such a connection only after this (docs/recovery.md). 0 closes them with the rest.
   * @defaultValue `3000`
   */
  drainHandoverMs?: number;
  /**
   * How long a long-poll GET (`${mount}/longpoll`, docs/longpoll.md) waits for messages before it answers
   * `{"status":204}`, as Phoenix's `window_ms`. Keep it under the client's request timeout (phoenix.js: 20 s).
   * @defaultValue `10000`
   */
  longPollWindowMs?: number;
  /**
   * A long-poll session with no request in flight and none for this long (ms) ends as a socket that dropped
   * (its channels leave, its presence goes; closed code 1006). Long-poll has no close signal, so this is how a
   * closed tab is noticed. The default is Phoenix's own (1.5 x its 10 s window): phoenix.js polls again at once,
   * so a live client leaves a gap of one round trip, and a gone one is noticed within seconds.
   * @defaultValue `15000`
   */
  longPollIdleMs?: number;
  /**
   * HMAC-SHA256 key of the long-poll session tokens (at least 32 characters). Without it: random per process, so
   * tokens die with the process. Set the same secret on every node of a cluster: a token one node issued is
   * then verified by any node, which relays the request to the owner.
   */
  longPollSecret?: string;
  /** Largest long-poll POST body; bigger -> `{"status":413}` and the session ends (1009). @defaultValue `2097152` (2 MiB) */
  longPollMaxBodyBytes?: number;
  /**
   * Frames in one long-poll POST (ndjson lines); more -> `{"status":413}` and the session ends (1009).
   * phoenix.js sends at most 100 per POST.
   * @defaultValue `100`
   */
  longPollMaxFramesPerPost?: number;
  /**
   * Messages queued for a long-poll session between its polls; one more ends the session as a slow consumer
   * (4001). Their bytes count against `outboundBudgetBytes` and `outboundHardCapBytes` as a socket's buffer.
   * @defaultValue `10000`
   */
  longPollMaxQueuedMessages?: number;
  /** Time source for all timers. Without it: the system clock. */
  clock?: Clock;
  /** De-duplication of resent pushes (docs/recovery.md); see ServerDedupOptions for its bounds. */
  dedup?: ServerDedupOptions;
  /**
   * Bounds of the history the server keeps when it creates its own MemoryBroker (docs/recovery.md, "Bounds");
   * see HistoryLimits for each bound and its default. With `broker` given, configure that broker instead.
   */
  history?: HistoryLimits;
}

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', { message: `expected ${what} to be a function` });

const schema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(SERVER_DEFAULTS.port),
  host: z.string().min(1).default(SERVER_DEFAULTS.host),
  httpServer: z.custom<HttpServer>((v) => typeof v === 'object' && v !== null && typeof (v as HttpServer).on === 'function').optional(),
  tls: z
    .strictObject({
      cert: z.union([z.string().min(1), z.instanceof(Buffer)]),
      key: z.union([z.string().min(1), z.instanceof(Buffer)]),
      ca: z.union([z.string(), z.instanceof(Buffer), z.array(z.union([z.string(), z.instanceof(Buffer)]))]).optional(),
    })
    .optional(),
  compression: compressionSchema.default(SERVER_DEFAULTS.compression),
  mount: z.string().regex(/^(\/[^/?#]+)*$/, 'mount must look like "/socket" (no trailing slash), or be ""').default(SERVER_DEFAULTS.mount),
  connect: fn<ConnectHook>('connect').optional(),
  channels: z.record(z.string(), z.custom<ChannelDefinition>((v) => typeof (v as ChannelDefinition | null)?.join === 'function', { message: 'a channel definition needs a join function' })),
  broker: z.custom<Broker>((v) => typeof (v as Broker | null)?.publish === 'function', { message: 'broker must implement Broker' }).optional(),
  maxFrameBytes: positiveInt.default(SERVER_DEFAULTS.maxFrameBytes),
  maxConnections: positiveInt.default(SERVER_DEFAULTS.maxConnections),
  backlog: positiveInt.default(SERVER_DEFAULTS.backlog),
  maxChannelsPerConnection: positiveInt.default(SERVER_DEFAULTS.maxChannelsPerConnection),
  messagesPerSecond: positiveInt.default(SERVER_DEFAULTS.messagesPerSecond),
  messageBurst: positiveInt.default(SERVER_DEFAULTS.messageBurst),
  joinsPerSecond: positiveInt.default(SERVER_DEFAULTS.joinsPerSecond),
  joinBurst: positiveInt.default(SERVER_DEFAULTS.joinBurst),
  connectTimeoutMs: positiveInt.default(SERVER_DEFAULTS.connectTimeoutMs),
  handshakeTimeoutMs: positiveInt.default(SERVER_DEFAULTS.handshakeTimeoutMs),
  maxPendingHandshakes: positiveInt.default(SERVER_DEFAULTS.maxPendingHandshakes),
  inboundBacklogMessages: positiveInt.default(SERVER_DEFAULTS.inboundBacklogMessages),
  inboundBacklogBytes: positiveInt.default(SERVER_DEFAULTS.inboundBacklogBytes),
  idleTimeoutMs: positiveInt.default(SERVER_DEFAULTS.idleTimeoutMs),
  outboundBudgetBytes: positiveInt.default(SERVER_DEFAULTS.outboundBudgetBytes),
  slowConsumerGraceMs: nonNegativeInt.default(SERVER_DEFAULTS.slowConsumerGraceMs),
  outboundHardCapBytes: positiveInt.optional(),
  framesPerTurn: positiveInt.default(SERVER_DEFAULTS.framesPerTurn),
  readBacklogFrames: positiveInt.default(SERVER_DEFAULTS.readBacklogFrames),
  readBacklogBytes: positiveInt.default(SERVER_DEFAULTS.readBacklogBytes),
  closeGraceMs: nonNegativeInt.default(SERVER_DEFAULTS.closeGraceMs),
  sweepIntervalMs: positiveInt.default(SERVER_DEFAULTS.sweepIntervalMs),
  allowedOrigins: z.union([z.array(z.string().min(1)).readonly(), z.literal(false)]).optional(),
  presenceBatchMs: nonNegativeInt.default(SERVER_DEFAULTS.presenceBatchMs),
  drainBatchSize: positiveInt.default(SERVER_DEFAULTS.drainBatchSize),
  drainIntervalMs: nonNegativeInt.default(SERVER_DEFAULTS.drainIntervalMs),
  drainTimeoutMs: nonNegativeInt.default(SERVER_DEFAULTS.drainTimeoutMs),
  drainReconnectWindowMs: nonNegativeInt.max(600_000).default(SERVER_DEFAULTS.drainReconnectWindowMs),
  drainHandoverMs: nonNegativeInt.max(600_000).default(SERVER_DEFAULTS.drainHandoverMs),
  longPollWindowMs: positiveInt.max(600_000).default(SERVER_DEFAULTS.longPollWindowMs),
  longPollIdleMs: positiveInt.default(SERVER_DEFAULTS.longPollIdleMs),
  longPollSecret: z.string().min(32, 'must be at least 32 characters').optional(),
  longPollMaxBodyBytes: positiveInt.default(SERVER_DEFAULTS.longPollMaxBodyBytes),
  longPollMaxFramesPerPost: positiveInt.default(SERVER_DEFAULTS.longPollMaxFramesPerPost),
  longPollMaxQueuedMessages: positiveInt.default(SERVER_DEFAULTS.longPollMaxQueuedMessages),
  clock: z.custom<Clock>((v) => typeof (v as Clock | null)?.now === 'function', { message: 'clock must implement Clock' }).optional(),
  dedup: z.strictObject({ maxEntriesPerClient: positiveInt.optional(), ttlMs: positiveInt.optional(), maxClients: positiveInt.optional() }).optional(),
  history: z
    .strictObject({
      maxMessages: positiveInt.optional(),
      maxMessageBytes: positiveInt.optional(),
      maxTopicBytes: positiveInt.optional(),
      maxTotalBytes: positiveInt.optional(),
      maxTopics: positiveInt.optional(),
      idleMs: positiveInt.optional(),
    })
    .optional(),
});

/** Fails to compile when the schema accepts other keys or types than ServerOptions declares. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
type _SchemaTypesMatch = Holds<Same<z.input<typeof schema>, ServerOptions>>;
type _SchemaKeysMatch = Holds<Same<keyof z.input<typeof schema>, keyof ServerOptions>>;

export type ResolvedOptions = Omit<z.output<typeof schema>, 'outboundHardCapBytes'> & { outboundHardCapBytes: number };

export class ServerOptionsError extends TypeError {
  override readonly name = 'ServerOptionsError';
}

export function resolveOptions(options: ServerOptions): ResolvedOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) throw new ServerOptionsError(`invalid server options:\n${z.prettifyError(parsed.error)}`);
  const data = parsed.data;
  const cap = data.outboundHardCapBytes ?? Math.floor(data.outboundBudgetBytes * HARD_CAP_FACTOR);
  if (cap < data.outboundBudgetBytes) {
    throw new ServerOptionsError(`invalid server options:\noutboundHardCapBytes (${cap}) must be at least outboundBudgetBytes (${data.outboundBudgetBytes})`);
  }
  return { ...data, outboundHardCapBytes: cap };
}
