/** createServer's options: one schema that validates them (naming unknown keys) and fills documented defaults. */
import type { IncomingHttpHeaders, Server as HttpServer } from 'node:http';
import { z } from 'zod';
import type { Broker } from '../broker/types.ts';
import type { ChannelDefinition } from './channel.ts';
import type { Clock } from './clock.ts';

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

export interface ServerOptions {
  /** Port to listen on when the server creates its own HTTP server. Default 4000; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Attach to an existing HTTP server instead of creating one (port/host are then ignored). */
  httpServer?: HttpServer;
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
  /** Close (4000) a connection that sent no frame for this long. Default 60000. */
  idleTimeoutMs?: number;
  /** Outbound bytes a connection may have buffered. Default 4 MiB. */
  outboundBudgetBytes?: number;
  /** How long a connection may stay over its budget before it is closed with 4001. Default 5000. */
  slowConsumerGraceMs?: number;
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
}

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', { message: `expected ${what} to be a function` });

const schema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(4000),
  host: z.string().min(1).default('127.0.0.1'),
  httpServer: z.custom<HttpServer>((v) => typeof v === 'object' && v !== null && typeof (v as HttpServer).on === 'function').optional(),
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
  idleTimeoutMs: positiveInt.default(60_000),
  outboundBudgetBytes: positiveInt.default(4 * 1024 * 1024),
  slowConsumerGraceMs: nonNegativeInt.default(5000),
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
});

export type ResolvedOptions = z.output<typeof schema>;

export class ServerOptionsError extends TypeError {
  override readonly name = 'ServerOptionsError';
}

export function resolveOptions(options: ServerOptions): ResolvedOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) throw new ServerOptionsError(`invalid server options:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
