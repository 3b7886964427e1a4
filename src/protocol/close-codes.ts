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
  /** Outbound buffer stayed over the byte budget for the grace period, or a frame would pass the hard cap: the client reads too slowly. */
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

/**
 * Every close code a Tether peer may see, in words (no parentheses: the CLI prints them inside a pair) a person reading a log or a terminal understands: the codes
 * above, plus those no endpoint sends but a close can still report (1005, 1006, 1015). Add a code here when it
 * is added to CloseCodes (test/protocol/close-codes.test.ts fails until it is).
 */
const MEANINGS = new Map<number, string>([
  [1000, 'closed normally'],
  [1001, 'going away: the server disconnected this session or is shutting down; reconnect and sign in again'],
  [1002, 'protocol error: the peer broke the WebSocket protocol'],
  [1005, 'closed without a status code'],
  [1006, 'the connection dropped without a close frame: a network cut, a killed process, or a proxy that timed it out'],
  [1007, 'invalid frame: a frame could not be decoded, e.g. not JSON, a wrong arity or a bad binary header'],
  [1008, 'policy violation: the server refused something this client did'],
  [1009, 'message too big: a frame was larger than the server accepts'],
  [1011, 'the server hit an internal error'],
  [1012, 'the server is restarting; reconnect after a backoff'],
  [1013, 'the server is overloaded; try again later'],
  [1015, 'the TLS handshake failed'],
  [4000, 'idle timeout: the server received nothing from this client for too long'],
  [4001, "you read too slowly: the server's buffer for this connection stayed over its byte budget"],
  [4002, 'rate limited: too many joins or messages per second'],
  [4003, 'inbound backlog: this client sent faster than the server could process'],
]);

/** A close code in words (`1006` -> `the connection dropped without a close frame …`); other codes by range. */
export function closeCodeMeaning(code: number): string {
  const known = MEANINGS.get(code);
  if (known !== undefined) return known;
  if (code >= 4000 && code <= 4999) return 'closed by the application, with a code of its own';
  if (code >= 3000 && code <= 3999) return 'closed by a library or framework, with a registered code';
  return 'an unassigned close code';
}

/** `4001 (you read too slowly: …)`, with the peer's reason after it when there is one. */
export function describeClose(code: number, reason = ''): string {
  return `${code} (${closeCodeMeaning(code)})${reason ? `: ${reason}` : ''}`;
}
