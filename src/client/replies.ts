/**
 * Sent pushes awaiting their `phx_reply`, by ref: a reply settles its push only when its topic and join_ref
 * match and it has Phoenix's `{status, response}` shape; a lost link settles every one as `disconnected`.
 */
import { isJsonObject, isReplyPayload, type Frame, type Payload } from '../protocol/index.ts';
import type { Clock } from './clock.ts';
import type { Push } from './push.ts';
import type { Counters } from './stats.ts';

export interface RepliesHost {
  readonly clock: Required<Clock>;
  readonly counters: Counters;
  /** A reply of the wrong shape: raise `invalid_frame` with this sentence. */
  invalidReply(message: string, topic: string, reply: unknown): void;
}

export class PendingReplies {
  readonly #pending = new Map<string, Push<unknown>>();
  readonly #host: RepliesHost;

  constructor(host: RepliesHost) {
    this.#host = host;
  }

  get size(): number {
    return this.#pending.size;
  }

  add(ref: string, push: Push<unknown>): void {
    this.#pending.set(ref, push);
  }

  remove(push: Push<unknown>): void {
    if (push.ref !== null && this.#pending.get(push.ref) === push) this.#pending.delete(push.ref);
  }

  /** A `phx_reply` with a ref: true when it was for a push waiting here (settled, or dropped as stale or malformed). */
  take(frame: Frame & { ref: string }): boolean {
    const push = this.#pending.get(frame.ref);
    if (!push || push.topic !== frame.topic) return false;
    const c = this.#host.counters;
    // A reply must carry the join_ref its push was sent under (none on V1), as phoenix.js's isMember check.
    if (frame.joinRef !== null && frame.joinRef !== push.joinRef) {
      c.staleDropped += 1;
      return true;
    }
    const reply = frame.payload;
    if (!isWellFormedReply(reply)) {
      c.invalidFrames += 1;
      this.#host.invalidReply(`Dropped a phx_reply to "${push.event}" on ${push.topic} without {status, response}. The push stays pending until its timeout; the server does not speak Phoenix correctly.`, push.topic, reply);
      return true;
    }
    this.#pending.delete(frame.ref);
    push.replyMeta = frame.meta;
    push.latencyMs = this.#host.clock.monotonic() - push.sentAt;
    push.settle(reply.status === 'ok' ? { status: 'ok', response: reply.response } : { status: 'error', response: reply.response, serverStatus: reply.status });
    return true;
  }

  /** The link is gone: every waiting push settles `disconnected`. */
  disconnectAll(): void {
    for (const push of [...this.#pending.values()]) push.settle({ status: 'disconnected' });
  }
}

/** Phoenix's reply payload: a status string and a response that is an object (or bytes, in a V2 binary reply). */
function isWellFormedReply(value: unknown): value is { status: string; response: Payload } {
  return isReplyPayload(value) && (isJsonObject(value.response) || value.response instanceof Uint8Array);
}
