/**
 * Reads a long-poll POST body with two bounds: its size (`longPollMaxBodyBytes`; a larger Content-Length is
 * refused before a byte is read) and its time (`handshakeTimeoutMs` from the request head on, so a body sent a
 * byte at a time cannot hold the request open). On a refusal the caller answers and closes the connection.
 */
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../clock.ts';

export type BodyResult = { ok: true; body: string } | { ok: false; status: 408 | 413 | 400 };

export interface BodyBounds {
  maxBytes: number;
  timeoutMs: number;
  clock: Clock;
}

export function readBody(req: IncomingMessage, bounds: BodyBounds): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > bounds.maxBytes) return Promise.resolve({ ok: false, status: 413 });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      bounds.clock.clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onError);
      if (!result.ok) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > bounds.maxBytes) finish({ ok: false, status: 413 });
      else chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: Buffer.concat(chunks, bytes).toString('utf8') });
    const onError = () => finish({ ok: false, status: 400 });
    const timer = bounds.clock.setTimeout(() => finish({ ok: false, status: 408 }), bounds.timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onError);
  });
}
