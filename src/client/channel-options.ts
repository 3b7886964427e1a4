/** A channel's public types: its options, its push options, and its lifecycle events. */
import type { JsonObject, Payload } from '../protocol/index.ts';
import type { RetryPolicy } from './backoff.ts';
import type { TetherClientError } from './errors.ts';
import type { ChannelState } from './states.ts';
import type { JoinRecoveryContext } from '../protocol/extension.ts';

/** The default event map: any event, any payload. */
export type DefaultEvents = Record<string, Payload>;

/** Join params, or a provider called before every (re)join. */
export type JoinParams = JsonObject | (() => JsonObject | Promise<JsonObject>);

export interface ChannelOptions {
  /** Delay before rejoining after a join timeout or a server `phx_error`. Default full jitter, base 1 s, cap 10 s. */
  rejoin?: RetryPolicy;
  /** Retry a join the server refused (error reply) with the rejoin policy instead of stopping. Default false. */
  retryJoinErrors?: boolean;
  /** Reply timeout of the join. Default: the socket's pushTimeoutMs. */
  joinTimeoutMs?: number;
}

export interface PushOptions {
  /** How long to wait for the reply once sent. Default: the socket's pushTimeoutMs (10 s). */
  timeoutMs?: number;
  /** How long the message may wait unsent in the outbox. Default: outbox ttlMs (5 min); null = forever. */
  ttlMs?: number | null;
}

export type ChannelStateReason =
  | 'join'
  | 'joined'
  | 'join_refused'
  | 'join_timeout'
  | 'provider_failed'
  | 'server_error'
  | 'server_close'
  | 'socket_lost'
  | 'leave'
  | 'left'
  /** A positioned message showed a gap or a reset stream: rejoining to recover (docs/recovery.md). */
  | 'gap';

export interface ChannelEvents {
  state: { from: ChannelState; to: ChannelState; reason: ChannelStateReason; joinRef: string | null };
  /** Every successful (re)join: whether missed messages were recovered; if not, resync the app's state. */
  joined: JoinRecoveryContext & { joinRef: string | null };
  error: TetherClientError;
}

/** A bytes payload: Uint8Array (or ArrayBuffer) travels as a V2 binary frame. */
export type OutgoingPayload<P> = P extends Uint8Array ? Uint8Array | ArrayBuffer : P;
