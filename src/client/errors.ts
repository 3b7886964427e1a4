/**
 * Every error the client surfaces has a code and a message that says what happened and what to do. The codes
 * are stable; match on `code`, not on the message.
 */
export const ClientErrorCodes = {
  outboxFull: 'outbox_full',
  outboxExpired: 'outbox_expired',
  channelClosed: 'channel_closed',
  duplicateChannel: 'duplicate_channel',
  joinRefused: 'join_refused',
  pushTimeout: 'push_timeout',
  pushError: 'push_error',
  disconnected: 'disconnected',
  cancelled: 'cancelled',
  notConnected: 'not_connected',
  authRejected: 'auth_rejected',
  authFailed: 'auth_failed',
  handshakeFailed: 'handshake_failed',
  connectTimeout: 'connect_timeout',
  heartbeatTimeout: 'heartbeat_timeout',
  retriesExhausted: 'retries_exhausted',
  providerFailed: 'provider_failed',
  invalidFrame: 'invalid_frame',
  frameTooLarge: 'frame_too_large',
  invalidPayload: 'invalid_payload',
  storeFailed: 'store_failed',
  transportUnavailable: 'transport_unavailable',
} as const;
export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes];

export class TetherClientError extends Error {
  override readonly name = 'TetherClientError';
  readonly code: ClientErrorCode;
  /** The topic concerned, when one is. */
  readonly topic: string | undefined;
  /** The server's reply (error pushes, refused joins), or the underlying error. */
  override readonly cause: unknown;

  constructor(code: ClientErrorCode, message: string, options: { topic?: string; cause?: unknown } = {}) {
    super(message);
    this.code = code;
    this.topic = options.topic;
    this.cause = options.cause;
  }
}
