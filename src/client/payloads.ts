/** Push payloads in and replies out: what `push` accepts, and what `request` resolves or throws. */
import type { Payload } from '../protocol/index.ts';
import { TetherClientError } from './errors.ts';
import type { PushResult } from './push.ts';

/** JSON text of an object payload, or the bytes of a binary one; encoded once, when the push is made. */
export function encodeBody(payload: unknown, topic: string, event: string): string | Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) return JSON.stringify(payload);
  throw new TetherClientError('invalid_payload', `The payload of "${event}" on ${topic} must be a plain object, a Uint8Array or an ArrayBuffer (Phoenix payloads are JSON objects).`, { topic });
}

export function describeReason(response: Payload): string {
  if (response instanceof Uint8Array) return `${response.byteLength} binary bytes`;
  return typeof response.reason === 'string' ? `reason "${response.reason}"` : JSON.stringify(response);
}

/** The ok response, or a TetherClientError that names the outcome. */
export function unwrap<T>(result: PushResult<T>, topic: string, event: string): T {
  switch (result.status) {
    case 'ok':
      return result.response;
    case 'error':
      throw new TetherClientError('push_error', `The server answered "${event}" on ${topic} with ${result.serverStatus} (${describeReason(result.response)}).`, { topic, cause: result.response });
    case 'timeout':
      throw new TetherClientError('push_timeout', `No reply to "${event}" on ${topic} within its timeout. The server may still run it; make the handler idempotent or raise timeoutMs.`, { topic });
    case 'disconnected':
      throw new TetherClientError('disconnected', `The link to the server was lost after "${event}" on ${topic} was sent; whether it ran is unknown.`, { topic });
    case 'cancelled':
      throw new TetherClientError('cancelled', `"${event}" on ${topic} was cancelled before it was sent.`, { topic });
    case 'rejected':
      throw result.error;
  }
}
