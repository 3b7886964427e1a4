/**
 * WebSocket close codes Tether sends. 1xxx are RFC 6455 codes used with their standard meaning; 4xxx are
 * Tether's own. phoenix.js reconnects after any code but 1000, so a server-side close that the client
 * should recover from never uses 1000.
 */
export const CloseCodes = {
  /** Orderly close that the peer should not undo (phoenix.js will not reconnect). */
  normal: 1000,
  /** The server disconnected this socket's id (`disconnect(id)`); reconnect and authenticate again. */
  goingAway: 1001,
  protocolError: 1002,
  /** A frame that could not be decoded (not JSON, wrong arity, bad binary header). */
  invalidFrame: 1007,
  policyViolation: 1008,
  /** A frame larger than `maxFrameBytes`. */
  messageTooBig: 1009,
  internalError: 1011,
  /** The server is draining for a restart; reconnect after a backoff. */
  serviceRestart: 1012,
  tryAgainLater: 1013,
  /** No frame received for `idleTimeoutMs`. */
  idleTimeout: 4000,
  /** Outbound buffer stayed over the per-connection byte budget: the client reads too slowly. */
  slowConsumer: 4001,
  /** Too many joins or messages per second from this connection. */
  rateLimited: 4002,
  /**
   * Kept sending to a channel whose inbound backlog (frames waiting for its join or an async handler) was full
   * after being refused: one more `inboundBacklogMessages` of refusals in a row.
   */
  inboundBacklog: 4003,
} as const;
export type CloseCode = (typeof CloseCodes)[keyof typeof CloseCodes];

const names = new Map<number, string>(Object.entries(CloseCodes).map(([k, v]) => [v, k]));

/** The name of a Tether close code (`slowConsumer`), or undefined for codes Tether does not define. */
export function closeCodeName(code: number): string | undefined {
  return names.get(code);
}
