/**
 * Cross-origin long-poll requests under the same origin policy as WebSocket upgrades: a page of an allowed
 * origin gets its origin reflected (never `*`), a preflight for the headers phoenix.js sends is answered, and
 * any other origin gets no CORS headers at all, so its page cannot read an answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The request headers a long-poll client may send beyond the CORS-safelisted ones. */
const ALLOWED_HEADERS = new Set(['x-phoenix-longpoll-token', 'x-phoenix-authtoken', 'content-type']);
const PREFLIGHT_MAX_AGE_S = '3600';

/** Adds the CORS answer headers for an allowed origin (none for a same-origin or non-browser request). */
export function allowOrigin(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  res.setHeader('vary', 'Origin');
  if (origin !== undefined) res.setHeader('access-control-allow-origin', origin);
}

/** Answers an OPTIONS preflight of an allowed origin: only the headers and methods long-poll uses. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  allowOrigin(req, res);
  const requested = (req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => ALLOWED_HEADERS.has(h));
  if (requested.length > 0) res.setHeader('access-control-allow-headers', [...new Set(requested)].join(', '));
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE_S);
  res.setHeader('content-length', '0');
  res.statusCode = 200;
  res.end();
}
