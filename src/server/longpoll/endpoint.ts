/**
 * The HTTP side of long-poll at `${mount}/longpoll` (the wire of Phoenix's LongPoll transport, docs/longpoll.md):
 * origin policy and CORS, the first GET's admission through the core (connect hook, limits), the session token
 * from `X-Phoenix-Longpoll-Token` or `?token=`, POST bodies read within bounds, and requests for sessions of
 * another node handed to the relay. Also answers a plain GET of `${mount}/websocket` with 400, as Phoenix does.
 * The routes go in front of the HTTP server's request listeners, which still answer every other path.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { CloseCodes } from '../../protocol/close-codes.ts';
import type { ServerCore } from '../core.ts';
import { asError } from '../unknown.ts';
import { FORBIDDEN, GONE, statusBody } from './answers.ts';
import { readBody } from './body.ts';
import { allowOrigin, answerPreflight } from './cors.ts';
import type { LongPollSessions } from './sessions.ts';
import type { SessionRef } from './token.ts';
import type { LongPollRelay, LongPollRequest } from './types.ts';

export interface LongPollEndpointOptions {
  mount: string;
  maxBodyBytes: number;
  /** A POST body must have arrived this long (ms) after its request head (handshakeTimeoutMs). */
  bodyTimeoutMs: number;
  windowMs: number;
}

export interface LongPollEndpoint {
  /**
   * Resolves when every long-poll request in flight has been answered (after a drain their answers are 410s on
   * their way out), or after `timeoutMs`: the HTTP server should not cut them before.
   */
  settled(timeoutMs: number): Promise<void>;
  /** Takes the routes off the HTTP server and puts its own request listeners back. */
  detach(): void;
}

/** How much longer than a poll window a relayed request may take before it counts as unanswered. */
const RELAY_MARGIN_MS = 2000;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function attachLongPoll(
  http: HttpServer,
  core: ServerCore,
  sessions: LongPollSessions,
  relay: LongPollRelay,
  options: LongPollEndpointOptions,
): LongPollEndpoint {
  const longPollPath = `${options.mount}/longpoll`;
  const inFlight = new Set<ServerResponse>();
  const waiters: Array<() => void> = [];
  const websocketPath = `${options.mount}/websocket`;

  const route = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === websocketPath) {
      send(res, 400, 'text/plain; charset=utf-8', `${websocketPath} takes WebSocket upgrades only; long-poll clients use ${longPollPath}\n`);
      return true;
    }
    if (path !== longPollPath) return false;
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      if (inFlight.size === 0) for (const done of waiters.splice(0)) done();
    });
    serve(req, res, q === -1 ? '' : url.slice(q)).catch((err: unknown) => {
      core.observers.hooks.error?.(asError(err), 'long-poll request');
      if (!res.headersSent) sendJson(res, statusBody(500));
      else res.destroy();
    });
    return true;
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, search: string): Promise<void> => {
    if (!core.originAllowed(req.headers.origin, req.headers.host)) {
      core.observers.hooks.connectionRejected?.({ status: 403, reason: `origin ${req.headers.origin} is not allowed` });
      closeAfter(req, res);
      sendJson(res, FORBIDDEN);
      return;
    }
    if (req.method === 'OPTIONS') {
      answerPreflight(req, res);
      return;
    }
    allowOrigin(req, res);
    if (req.method !== 'GET' && req.method !== 'POST') {
      closeAfter(req, res);
      send(res, 400, 'text/plain; charset=utf-8', '');
      return;
    }
    const query = new URLSearchParams(search);
    const header = req.headers['x-phoenix-longpoll-token'];
    const fromHeader = typeof header === 'string' ? header : undefined;
    // The last `token` wins, as in Phoenix: phoenix.js appends the session's after the app's own params.
    const sessionToken = fromHeader ?? query.getAll('token').at(-1);
    const ref = sessionToken === undefined ? null : sessions.tokens.verify(sessionToken);
    if (req.method === 'GET') {
      // A `token` query parameter that is not a session token is the app's own connect param (Phoenix reads it
      // the same way): the GET opens a session. A header names a session, and one that does not verify is gone.
      if (ref === null && fromHeader === undefined) return openSession(req, res, search);
      if (ref === null) return sendJson(res, GONE);
      return answer(res, ref, { method: 'GET', sessionToken: sessionToken! });
    }
    if (ref === null) {
      closeAfter(req, res);
      return sendJson(res, GONE);
    }
    const body = await readBody(req, { maxBytes: options.maxBodyBytes, timeoutMs: options.bodyTimeoutMs, clock: core.clock });
    if (!body.ok) {
      if (body.status === 413) sessions.end(ref, CloseCodes.messageTooBig, `POST body over longPollMaxBodyBytes (${options.maxBodyBytes})`);
      closeAfter(req, res);
      return sendJson(res, statusBody(body.status));
    }
    const isNdjson = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-ndjson';
    // Any other content type is one frame (older clients); JSON whitespace may go, a newline may not stay.
    const text = isNdjson ? body.body : body.body.replace(/\r?\n/g, ' ');
    return answer(res, ref, { method: 'POST', sessionToken: sessionToken!, body: text });
  };

  const openSession = async (req: IncomingMessage, res: ServerResponse, search: string): Promise<void> => {
    const authHeader = req.headers['x-phoenix-authtoken'];
    const admission = await core.admit({
      search,
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress ?? '',
      transport: 'longpoll',
      authToken: typeof authHeader === 'string' ? authHeader : null,
    });
    if (!admission.ok) {
      // phoenix.js knows 403 (refused: it stops) and 500 (it retries); capacity and draining are the latter.
      sendJson(res, statusBody(admission.status === 403 ? 403 : 500));
      return;
    }
    if (req.destroyed || res.writableEnded) {
      core.abandon();
      return;
    }
    sendJson(res, sessions.open(admission));
  };

  /** `ref` is what the request's token names, verified above: a local session is answered without verifying it again. */
  const answer = async (res: ServerResponse, ref: SessionRef, request: LongPollRequest): Promise<void> => {
    if (ref.node !== sessions.nodeId) {
      const relayed = await relay.forward(ref.node, request, options.windowMs + RELAY_MARGIN_MS);
      sendJson(res, relayed === null ? GONE : relayed.body);
      return;
    }
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) abort.abort();
    };
    res.once('close', onClose);
    const response = await sessions.answer(ref, request, abort.signal);
    res.off('close', onClose);
    if (!abort.signal.aborted) sendJson(res, response.body);
  };

  const previous = http.listeners('request') as RequestListener[];
  http.removeAllListeners('request');
  const listener: RequestListener = (req, res) => {
    if (route(req, res)) return;
    if (previous.length === 0) {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
      return;
    }
    for (const next of previous) next.call(http, req, res);
  };
  http.on('request', listener);
  return {
    settled(timeoutMs) {
      if (inFlight.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = core.clock.setTimeout(resolve, timeoutMs);
        waiters.push(() => {
          core.clock.clearTimeout(timer);
          resolve();
        });
      });
    },
    detach() {
      http.off('request', listener);
      for (const next of previous) http.on('request', next);
    },
  };
}

function sendJson(res: ServerResponse, body: string): void {
  res.setHeader('cache-control', 'no-store');
  send(res, 200, 'application/json; charset=utf-8', body);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** An answer before the request body was read: the connection closes after it instead of reading the rest. */
function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  if (req.readableEnded || req.complete) return;
  res.setHeader('connection', 'close');
  res.once('finish', () => req.socket.destroy());
}
