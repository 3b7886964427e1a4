/**
 * The long-poll relay over the broker's per-node inbox: a request for a session owned by another node travels
 * there (inbox kind `longpoll`), the owner's handler answers, and the answer travels back. With the memory broker
 * the only reachable node is this one.
 *
 * On the inbox a request is one JSON line `{"method","sessionToken"}`, then for a POST a newline and the body as
 * it came; an answer is the response body as it is. Bodies are not wrapped in a JSON string: a poll's body is
 * JSON holding frames as JSON strings, and escaping it once more would nearly double it on the way.
 */
import type { Broker } from '../../broker/types.ts';
import type { LongPollHandler, LongPollRelay, LongPollRequest, LongPollResponse } from './types.ts';

/** The inbox kind long-poll requests travel under. */
export const LONGPOLL_INBOX_KIND = 'longpoll';

function encodeRequest(request: LongPollRequest): string {
  const head = JSON.stringify({ method: request.method, sessionToken: request.sessionToken });
  return request.body === undefined ? head : `${head}\n${request.body}`;
}

/** Another node's request, checked field by field (it crossed the network; nothing in it is trusted to be well formed). */
function parseRequest(data: string): LongPollRequest {
  // JSON text never holds a raw newline, so the first one ends the head.
  const end = data.indexOf('\n');
  const head = JSON.parse(end === -1 ? data : data.slice(0, end)) as { method?: unknown; sessionToken?: unknown } | null;
  const method = head?.method;
  const sessionToken = head?.sessionToken;
  if ((method !== 'GET' && method !== 'POST') || typeof sessionToken !== 'string') throw new TypeError('long-poll relay: malformed request');
  return end === -1 ? { method, sessionToken } : { method, sessionToken, body: data.slice(end + 1) };
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
        return response.body;
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
        asked.then((body) => settle(body === null ? null : { body }), () => settle(null));
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
