/** Socket and channel states, and why a socket moved between them. */

export const SocketStates = {
  /** Constructed; `connect()` not called yet. */
  idle: 'idle',
  /** An attempt is running: providers called, WebSocket opening. */
  connecting: 'connecting',
  open: 'open',
  /** The link was lost; waiting for the retry policy's delay before the next attempt. */
  reconnecting: 'reconnecting',
  /** `disconnect()` was called and the WebSocket is closing. */
  closing: 'closing',
  /** Closed by `disconnect()`; nothing reconnects it until `connect()`. */
  closed: 'closed',
  /** The retry policy gave up, or authentication was refused twice. `connect()` starts over. */
  failed: 'failed',
} as const;
export type SocketState = (typeof SocketStates)[keyof typeof SocketStates];

export const TransitionReasons = {
  /** `connect()` was called. */
  connect: 'connect',
  /** The retry delay elapsed, or a browser event (online, visible, pageshow) cut it short. */
  retry: 'retry',
  opened: 'opened',
  /** The WebSocket did not open within `connectTimeoutMs`. */
  connectTimeout: 'connect_timeout',
  /** The WebSocket failed before it opened (refused, DNS, TLS, or an HTTP status other than 101). */
  handshakeFailed: 'handshake_failed',
  /** The server answered the upgrade with 401 or 403. */
  authRejected: 'auth_rejected',
  /** The open WebSocket closed without `disconnect()`: server close, network error. */
  transportClosed: 'transport_closed',
  /** The server sent a frame over `maxFrameBytes`: the client closed the link (1009). */
  frameTooLarge: 'frame_too_large',
  /** No heartbeat reply within `heartbeatTimeoutMs` of a heartbeat the client was awake to see answered. */
  heartbeatTimeout: 'heartbeat_timeout',
  /**
   * A draining server's notice: the link to the next endpoint opened while the old one still served, and the
   * socket moved to it (open to open; channels rejoin on the new link).
   */
  handover: 'handover',
  /** `longPollFallbackMs`: the WebSocket failed, or did not open and answer a heartbeat in time; long-poll next. */
  transportFallback: 'transport_fallback',
  /** A params or token provider threw. */
  providerFailed: 'provider_failed',
  /** `disconnect()` was called. */
  disconnect: 'disconnect',
  /** The WebSocket finished closing after `disconnect()`. */
  closed: 'closed',
  /** The retry policy returned null. */
  retriesExhausted: 'retries_exhausted',
  /** The token provider's fresh token was refused too. */
  auth: 'auth',
} as const;
export type TransitionReason = (typeof TransitionReasons)[keyof typeof TransitionReasons];

export interface StateTransition {
  from: SocketState;
  to: SocketState;
  reason: TransitionReason;
  /** A human sentence, plus the close code or HTTP status when there is one, and the transport on `opened`. */
  detail: { message: string; code?: number; status?: number; delayMs?: number; transport?: string };
  /** Wall-clock time of the transition (ms since the epoch). */
  at: number;
}

export const ChannelStates = {
  closed: 'closed',
  joining: 'joining',
  joined: 'joined',
  /** Lost (socket down, server phx_error, join timeout); rejoins with a new join_ref when it can. */
  errored: 'errored',
  leaving: 'leaving',
} as const;
export type ChannelState = (typeof ChannelStates)[keyof typeof ChannelStates];
