/**
 * The long-poll relay over the broker's per-node inbox: a request for a session owned by another node travels
 * there as JSON (inbox kind `longpoll`), the owner's handler answers, and the answer travels back. With the
 * memory broker the only reachable node is this one.
 */
import type { Broker } from '../../broker/types.ts';
import type { LongPollHandler, LongPollRelay, LongPollRequest, LongPollResponse } from './types.ts';

/** The inbox kind long-poll requests travel under. */
export const LONGPOLL_INBOX_KIND = 'longpoll';

/** Another node's request, checked field by field (it crossed the network; nothing in it is trusted to be well formed). */
function parseRequest(data: string): LongPollRequest {
  const raw = JSON.parse(data) as Partial<Record<keyof LongPollRequest, unknown>> | null;
  const method = raw?.method;
  const sessionToken = raw?.sessionToken;
  const body = raw?.body;
  if ((method !== 'GET' && method !== 'POST') || typeof sessionToken !== 'string' || (body !== undefined && typeof body !== 'string')) {
    throw new TypeError('long-poll relay: malformed request');
  }
  return body === undefined ? { method, sessionToken } : { method, sessionToken, body };
}

function parseResponse(data: string | null): LongPollResponse | null {
  if (data === null) return null;
  const body = (JSON.parse(data) as { body?: unknown } | null)?.body;
  return typeof body === 'string' ? { body } : null;
}

function encodeRequest(request: LongPollRequest): string {
  const { method, sessionToken, body } = request;
  return JSON.stringify(body === undefined ? { method, sessionToken } : { method, sessionToken, body });
}

/**
 * Serves this node's sessions to the other nodes and forwards requests to theirs. A forward that is refused
 * (over the inbox's `maxMessageBytes` or `maxPendingRequests`), fails on the owner, or gets no answer in time
 * resolves null: the endpoint answers `{"status":410}` and the client starts a new session.
 */
export function createLongPollRelay(broker: Broker): LongPollRelay {
  let stopServing: (() => void) | null = null;
  let closed = false;
  /** Resolvers of forwards in flight, so `close` can settle them at once. */
  const inFlight = new Set<(response: LongPollResponse | null) => void>();

  return {
    serve(handler: LongPollHandler): void {
      if (closed) return;
      if (stopServing) throw new Error('long-poll relay: serve() was already called');
      stopServing = broker.inbox.handle(LONGPOLL_INBOX_KIND, async (data) => {
        const response = await handler(parseRequest(data));
        return JSON.stringify({ body: response.body });
      });
    },

    forward(node: string, request: LongPollRequest, timeoutMs: number): Promise<LongPollResponse | null> {
      if (closed) return Promise.resolve(null);
      return new Promise((resolve) => {
        inFlight.add(resolve);
        const settle = (response: LongPollResponse | null) => {
          if (inFlight.delete(resolve)) resolve(response);
        };
        let asked: Promise<string | null>;
        try {
          asked = broker.inbox.request(node, LONGPOLL_INBOX_KIND, encodeRequest(request), timeoutMs);
        } catch {
          asked = Promise.resolve(null);
        }
        asked.then(parseResponse).then(settle, () => settle(null));
      });
    },

    close(): void {
      closed = true;
      stopServing?.();
      stopServing = null;
      const pending = [...inFlight];
      inFlight.clear();
      for (const resolve of pending) resolve(null);
    },
  };
}
