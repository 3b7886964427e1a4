/**
 * `POST /api/publish`: how workers in any language publish task events. `Authorization: Bearer <token>`; a JSON
 * body (one event, or an array of up to 100) of at most `maxBytes`. Answers 200 `{"reached": n, "results": [...]}`,
 * 400 naming what is invalid, 401, 413 (body too big) or 415 (not JSON). Returns a request-listener step: true
 * when it answered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerOf, tokenMatches } from '../../server/token-check.ts';
import type { PublishResult, TaskHub } from './hub.ts';

export interface PublishRouteOptions {
  hub: Pick<TaskHub, 'publish'>;
  token: string;
  /** Largest accepted body. Default 65536. */
  maxBytes?: number;
  /** Default '/api/publish'. */
  path?: string;
}

import { PUBLISH_DEFAULTS } from '../defaults.ts';

export { PUBLISH_DEFAULTS };

export function createPublishRoute(options: PublishRouteOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const maxBytes = options.maxBytes ?? PUBLISH_DEFAULTS.maxBytes;
  const path = options.path ?? PUBLISH_DEFAULTS.path;
  return (req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== path) return false;
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      reply(res, 405, { error: 'use POST' });
      return true;
    }
    if (!tokenMatches(options.token, bearerOf(req))) {
      res.setHeader('www-authenticate', 'Bearer realm="publish"');
      reply(res, 401, { error: 'publishing needs the bearer token (publishToken)' });
      return true;
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      reply(res, 415, { error: 'the body must be application/json' });
      return true;
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      reply(res, 413, { error: `the body is over ${maxBytes} bytes` }, true);
      return true;
    }
    readBody(req, maxBytes).then(
      async (body) => {
        if (body === null) return reply(res, 413, { error: `the body is over ${maxBytes} bytes` }, true);
        let input: unknown;
        try {
          input = JSON.parse(body);
        } catch {
          return reply(res, 400, { error: 'the body is not valid JSON' });
        }
        const events = Array.isArray(input) ? input : [input];
        if (events.length === 0 || events.length > PUBLISH_DEFAULTS.maxEvents) return reply(res, 400, { error: `send 1 to ${PUBLISH_DEFAULTS.maxEvents} events` });
        const results: PublishResult[] = [];
        for (const event of events) results.push(await options.hub.publish(event));
        const failed = results.findIndex((r) => !r.ok);
        const reached = results.reduce((sum, r) => sum + (r.ok ? r.reached : 0), 0);
        reply(res, failed === -1 ? 200 : 400, { reached, results });
      },
      () => reply(res, 400, { error: 'the body could not be read' }),
    );
    return true;
  };
}

/** The body as text, or null once it passes `maxBytes` (reading stops there). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: object, close = false): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  if (close) res.setHeader('connection', 'close');
  res.end(text);
}
