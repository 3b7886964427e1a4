/** The Socket's options and events, with their defaults. */
import type { RetryPolicy } from './backoff.ts';
import type { PageEnvironment } from './browser.ts';
import type { ChannelOptions } from './channel-options.ts';
import type { Clock } from './clock.ts';
import type { QueryParams } from './endpoint.ts';
import type { TetherClientError } from './errors.ts';
import type { OutboxOptions } from './outbox.ts';
import type { PushResult } from './push.ts';
import type { StateTransition } from './states.ts';
import { DEFAULT_MAX_FRAME_BYTES, type TransportFactory } from './transport.ts';
import type { LongPollTransportOptions } from './transport-longpoll.ts';
import type { WsTransportOptions } from './transport-ws.ts';

export interface TokenContext {
  /** 1 for the first attempt after `connect()` or after a connection that opened, then 2, 3, ... */
  attempt: number;
  /**
   * True when the previous attempt was refused with HTTP 401/403, or failed before opening with no visible
   * status (the global WebSocket cannot show one): return a fresh token, not a cached one.
   */
  refresh: boolean;
}

export interface SocketOptions {
  /** Query params, or a provider called before every attempt. */
  params?: QueryParams | (() => QueryParams | Promise<QueryParams>);
  /** Sent as Phoenix's auth-token subprotocol; a provider is called before every attempt. */
  authToken?: string | ((context: TokenContext) => string | null | Promise<string | null>);
  /** Default '2.0.0' (binary frames need it). */
  vsn?: '2.0.0' | '1.0.0';
  /**
   * `'websocket'` (the default): `ws` in Node (loaded lazily); in browsers the global WebSocket (`ws` when `headers`,
   * `tls` or `agent` is given). `'longpoll'`: Phoenix's long-poll over fetch (tuned by `longPoll`). Or a factory,
   * e.g. `wsTransport({...})` or `longPollTransport({...})`.
   */
  transport?: 'websocket' | 'longpoll' | TransportFactory;
  /**
   * Switch to long-poll when the WebSocket fails before opening, or does not open and answer its first heartbeat
   * within this many ms (phoenix.js's option and behaviour). Once long-poll has opened, the socket stays on it; if
   * the WebSocket never passed that check, a browser tab remembers it in sessionStorage (`phx:fallback:LongPoll`,
   * phoenix.js's key) and later sockets in the tab start on long-poll. Default: off.
   */
  longPollFallbackMs?: number;
  /** Options for the long-poll transport of `transport: 'longpoll'` and of the fallback. */
  longPoll?: LongPollTransportOptions;
  /**
   * Largest frame accepted from the server, in bytes. Default 8 MiB. Over it the link closes with 1009, the error
   * is `frame_too_large`, and the socket reconnects. The Node `ws` transport refuses such a frame from its header,
   * before reading it; a browser has already read it, and the socket drops it. An explicit `wsTransport()` takes
   * its own `maxFrameBytes`.
   */
  maxFrameBytes?: number;
  /** Node only (uses the `ws` transport). */
  headers?: Record<string, string>;
  /** Node only (uses the `ws` transport): CA, client certificate, pinned server certificate fingerprints. */
  tls?: Omit<WsTransportOptions, 'headers' | 'agent'>;
  /** Node only (uses the `ws` transport): an http(s).Agent. */
  agent?: unknown;
  /** Default 10000. */
  connectTimeoutMs?: number;
  /** Quiet time after a reply before the next heartbeat. Default 30000. */
  heartbeatIntervalMs?: number;
  /** How long a heartbeat may go unanswered. Default 10000. */
  heartbeatTimeoutMs?: number;
  /** A timer firing later than this is treated as a time jump and probes instead of judging. Default 2000. */
  lateToleranceMs?: number;
  /** Reconnect delays. Default outageBackoff(): ~1.5 attempts/s while an outage is young, one per ~30 s after 2 minutes. */
  reconnect?: RetryPolicy;
  /** Default reply timeout for pushes, joins and leaves. Default 10000. */
  pushTimeoutMs?: number;
  /** Defaults for every channel (rejoin policy, join-error handling). */
  channel?: ChannelOptions;
  outbox?: OutboxOptions;
  /** Send each push's outbox id as V2 JSON meta (`[jr, ref, topic, event, payload, {"id": ...}]`). Default true. */
  messageIds?: boolean;
  /**
   * Scopes the server's de-duplication of resent pushes (connect param `tether_cid`, docs/recovery.md).
   * Default: random per Socket. With a durable outbox store give a stable id, so resends after a restart are
   * recognised too.
   */
  clientId?: string;
  /** Transitions kept for `socket.transitions`. Default 50. */
  historySize?: number;
  /** Page lifecycle signals; default the real page in browsers, none in Node. false disables. */
  page?: PageEnvironment | false;
  clock?: Clock;
}

export interface SocketEvents {
  state: StateTransition;
  error: TetherClientError;
  /** A message restored from a durable outbox store settled (its Push object died with the previous process). */
  settled: { id: string; topic: string; event: string; result: PushResult };
}

export const SOCKET_DEFAULTS = {
  connectTimeoutMs: 10_000,
  heartbeatIntervalMs: 30_000,
  heartbeatTimeoutMs: 10_000,
  lateToleranceMs: 2_000,
  pushTimeoutMs: 10_000,
  historySize: 50,
  closingTimeoutMs: 2_000,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
} as const;
