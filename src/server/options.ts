/** createServer's options: one schema that validates them (naming unknown keys) and fills documented defaults. */
import type { IncomingHttpHeaders, Server as HttpServer } from 'node:http';
import { z } from 'zod';
import type { HistoryLimits } from '../broker/history-memory.ts';
import type { Broker } from '../broker/types.ts';
import type { ChannelDefinition } from './channel.ts';
import type { Clock } from './clock.ts';
import { compressionSchema, type CompressionOptions } from './compression.ts';

export interface ConnectInfo {
  /** Query parameters of the WebSocket request, `vsn` included (Phoenix passes it to connect/3 too). */
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The token of Phoenix's `authToken` option (subprotocol `base64url.bearer.phx.<base64>`), or null. */
  authToken: string | null;
  remoteAddress: string;
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

export interface ServerOptions {
  /** Port to listen on when the server creates its own HTTP server. Default 4000; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Attach to an existing HTTP server instead of creating one (port/host/tls are then ignored). */
  httpServer?: HttpServer;
  /**
   * Serve `wss://` and `https://`: the server creates an HTTPS server with this certificate chain and key
   * (PEM), TLS 1.2 at least. `ca` adds CA certificates sent with the chain. Default: plain `ws://`.
   */
  tls?: ServerTlsOptions;
  /**
   * permessage-deflate. Default false (as Phoenix and ws). `true` or an object turns it on for clients that
   * offer it: thresholdBytes 1024, level 6, memLevel 8, concurrency 10 (see CompressionOptions). The server
   * always asks for server_no_context_takeover, so a broadcast is compressed once for all its subscribers. The
   * inflated size of a client message is capped by `maxFrameBytes` (close 1009).
   */
  compression?: boolean | CompressionOptions;
  /** The endpoint is `${mount}/websocket`. Default '/socket'. */
  mount?: string;
  /** Authenticates each connection before the upgrade. Default: accept everyone. */
  connect?: ConnectHook;
  /** Topic pattern (exact or ending in `*`) -> channel definition. */
  channels: Readonly<Record<string, ChannelDefinition>>;
  /** Default: a new MemoryBroker (single process). */
  broker?: Broker;
  /** Largest accepted client frame. Default 1 MiB; bigger -> close 1009. */
  maxFrameBytes?: number;
  /** Open connections (plus upgrades in progress) beyond which upgrades get HTTP 503. Default 100000. */
  maxConnections?: number;
  /**
   * Length of the kernel's queue of accepted-but-not-yet-taken TCP connections (`listen(2)`'s backlog; the
   * kernel caps it at `net.core.somaxconn`). Default 4096 instead of Node's 511: a fleet reconnecting after a
   * restart arrives faster than a busy event loop takes connections, and an overflowing queue makes the kernel
   * drop handshakes that the clients' TCP then retries only after 1, 3, 7 s.
   */
  backlog?: number;
  /** Joined channels per connection; the next join gets "too many channels joined". Default 100. */
  maxChannelsPerConnection?: number;
  /**
   * Frames (of any kind, heartbeats included) a connection may send per second, and how many at once after a
   * quiet spell. Over the limit a frame is refused (`{"reason": "rate limited"}` when it has a ref); one more
   * burst of refused frames closes the connection with 4002. Defaults 10000 and 20000: a guard against
   * runaway clients that machine-speed request/reply on loopback does not reach; lower them for public endpoints.
   */
  messagesPerSecond?: number;
  messageBurst?: number;
  /** The same for joins, counted apart (a reconnect rejoins every channel at once). Defaults 20 and 200. */
  joinsPerSecond?: number;
  joinBurst?: number;
  /** A connect hook that has not settled after this long refuses the upgrade with HTTP 503. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * A TCP connection that has not sent a complete HTTP request head (its upgrade request) this long after it
   * opened is destroyed. Not `connectTimeoutMs`, which times the connect hook after the head arrived. Default 10000.
   */
  handshakeTimeoutMs?: number;
  /** Connections still sending their request head beyond which new ones are destroyed at once. Default 1000. */
  maxPendingHandshakes?: number;
  /**
   * Frames one channel may hold while its join or an async `handleIn` is still running, by count and by
   * bytes. Past either, a frame gets `{"reason": "inbound backlog full"}`; one more `inboundBacklogMessages`
   * of refusals in a row closes the connection with 4003. Defaults 1000 and 2 MiB: a full flush of the client's
   * default outbox (1000 messages, 1 MiB of payload plus framing) fits.
   */
  inboundBacklogMessages?: number;
  inboundBacklogBytes?: number;
  /** Close (4000) a connection that sent no frame for this long. Default 60000. */
  idleTimeoutMs?: number;
  /** Outbound bytes a connection may have buffered. Default 4 MiB. */
  outboundBudgetBytes?: number;
  /** How long a connection may stay over its budget before it is closed with 4001. Default 5000. */
  slowConsumerGraceMs?: number;
  /**
   * The most a connection may have queued for sending (`ws` bufferedAmount: what ws and the socket's writable
   * buffer hold). A frame that would take it past this is not queued and the connection is closed with 4001 at
   * once, without waiting for `slowConsumerGraceMs`; only control frames (the close frame, ws's pongs) may pass
   * it. Default 1.5x `outboundBudgetBytes`; must be at least the budget.
   */
  outboundHardCapBytes?: number;
  /**
   * Fairness between connections: at most this many client frames of one connection are handled per turn of
   * the event loop; the rest wait behind other connections' frames (handled round-robin), in order. Default 32.
   */
  framesPerTurn?: number;
  /**
   * A connection with more client frames waiting for their turn than this (or `readBacklogBytes`) stops being
   * read until they are handled, so TCP pushes back on the sender. Defaults 256 frames and 262144 (256 KiB).
   */
  readBacklogFrames?: number;
  readBacklogBytes?: number;
  /**
   * After the server sends a close frame (any code), a peer that has not answered it within this long is cut
   * (TCP destroyed) so its buffers are freed then, not after ws's 30 s. Checked by the sweep. Default 10000:
   * a consumer that stalls and resumes within it still reads its 4001; lower it to free memory sooner.
   */
  closeGraceMs?: number;
  /** Period of the single timer that checks idleness and budgets of all connections. Default 1000. */
  sweepIntervalMs?: number;
  /**
   * Allowed `Origin`s: full origins (`https://app.example.com`), hosts (`example.com`), `*.` wildcards
   * (`https://*.example.com`, `*.example.com`). A request without Origin is allowed. `false` turns the check
   * off. Default: off when bound to a loopback host, otherwise the Origin's host must equal the Host header's.
   */
  allowedOrigins?: readonly string[] | false;
  /** Presence diffs are collected this long into one presence_diff. Default 0 (end of the current task). */
  presenceBatchMs?: number;
  /** close() closes this many connections (code 1012) per step. Default 500. */
  drainBatchSize?: number;
  /** Pause between drain steps. Default 50. */
  drainIntervalMs?: number;
  /** close() stops waiting for clients to finish the close handshake after this long and cuts them. Default 5000. */
  drainTimeoutMs?: number;
  /**
   * The window over which opted-in Tether clients spread their return after a drain (docs/recovery.md): each
   * waits out the rest of the drain, then a random delay within this window. Default 2000; set it to about the
   * restart time. Stock clients never see it.
   */
  drainReconnectWindowMs?: number;
  /** Time source for all timers. Default the system clock. */
  clock?: Clock;
  /**
   * De-duplication of resent pushes (docs/recovery.md): ids remembered per client (default 1024), for how
   * long after last seen (default 300000 ms), and how many clients (default 10000).
   */
  dedup?: { maxEntriesPerClient?: number; ttlMs?: number; maxClients?: number };
  /**
   * Bounds of the history the server keeps when it creates its own MemoryBroker (docs/recovery.md, "Bounds"):
   * maxMessages 10000 per topic, maxMessageBytes 1 MiB, maxTopicBytes 8 MiB, maxTotalBytes 64 MiB,
   * maxTopics 10000, idleMs each topic's TTL. With `broker` given, configure that broker instead.
   */
  history?: HistoryLimits;
}

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', { message: `expected ${what} to be a function` });

const schema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(4000),
  host: z.string().min(1).default('127.0.0.1'),
  httpServer: z.custom<HttpServer>((v) => typeof v === 'object' && v !== null && typeof (v as HttpServer).on === 'function').optional(),
  tls: z
    .strictObject({
      cert: z.union([z.string().min(1), z.instanceof(Buffer)]),
      key: z.union([z.string().min(1), z.instanceof(Buffer)]),
      ca: z.union([z.string(), z.instanceof(Buffer), z.array(z.union([z.string(), z.instanceof(Buffer)]))]).optional(),
    })
    .optional(),
  compression: compressionSchema.optional(),
  mount: z.string().regex(/^(\/[^/?#]+)*$/, 'mount must look like "/socket" (no trailing slash), or be ""').default('/socket'),
  connect: fn<ConnectHook>('connect').optional(),
  channels: z.record(z.string(), z.custom<ChannelDefinition>((v) => typeof (v as ChannelDefinition | null)?.join === 'function', { message: 'a channel definition needs a join function' })),
  broker: z.custom<Broker>((v) => typeof (v as Broker | null)?.publish === 'function', { message: 'broker must implement Broker' }).optional(),
  maxFrameBytes: positiveInt.default(1024 * 1024),
  maxConnections: positiveInt.default(100_000),
  backlog: positiveInt.default(4096),
  maxChannelsPerConnection: positiveInt.default(100),
  messagesPerSecond: positiveInt.default(10_000),
  messageBurst: positiveInt.default(20_000),
  joinsPerSecond: positiveInt.default(20),
  joinBurst: positiveInt.default(200),
  connectTimeoutMs: positiveInt.default(10_000),
  handshakeTimeoutMs: positiveInt.default(10_000),
  maxPendingHandshakes: positiveInt.default(1000),
  inboundBacklogMessages: positiveInt.default(1000),
  inboundBacklogBytes: positiveInt.default(2 * 1024 * 1024),
  idleTimeoutMs: positiveInt.default(60_000),
  outboundBudgetBytes: positiveInt.default(4 * 1024 * 1024),
  slowConsumerGraceMs: nonNegativeInt.default(5000),
  outboundHardCapBytes: positiveInt.optional(),
  framesPerTurn: positiveInt.default(32),
  readBacklogFrames: positiveInt.default(256),
  readBacklogBytes: positiveInt.default(256 * 1024),
  closeGraceMs: nonNegativeInt.default(10_000),
  sweepIntervalMs: positiveInt.default(1000),
  allowedOrigins: z.union([z.array(z.string().min(1)).readonly(), z.literal(false)]).optional(),
  presenceBatchMs: nonNegativeInt.default(0),
  drainBatchSize: positiveInt.default(500),
  drainIntervalMs: nonNegativeInt.default(50),
  drainTimeoutMs: nonNegativeInt.default(5000),
  drainReconnectWindowMs: nonNegativeInt.max(600_000).default(2000),
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

/** The hard cap's default, relative to the budget. */
export const HARD_CAP_FACTOR = 1.5;

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
