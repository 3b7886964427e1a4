/**
 * Messages accepted by `channel.push()` until they settle: queued (not yet sent) or in flight (sent, awaiting a
 * reply). Bounded by count and bytes; order kept per topic. The outbox owns the message's persistence: it writes
 * each one to the OutboxStore when accepted, sends none before its write finished, removes it from the store when
 * it settles whatever the outcome (restored ones included), and turns every store failure into a settled push
 * and an `error` event, never an unhandled rejection.
 */
import type { Clock } from './clock.ts';
import { utf8Length } from './endpoint.ts';
import { TetherClientError } from './errors.ts';
import { Push, PushPhases, type PushHost } from './push.ts';
import { MemoryOutboxStore, type OutboxStore, type StoredMessage } from './outbox-store.ts';

export interface OutboxOptions {
  /** Most messages held (queued + in flight). Default 1000. */
  maxMessages?: number;
  /** Most payload bytes held (UTF-8 JSON text or binary size). Default 1 MiB. */
  maxBytes?: number;
  /** How long an unsent message may wait; per-push `ttlMs` overrides. Default 300000 (5 min). null = forever. */
  ttlMs?: number | null;
  /** Default MemoryOutboxStore. */
  store?: OutboxStore;
  /**
   * What happens to messages in flight when the link or channel is lost. `settle` (default): they settle
   * `disconnected`. `resend`: they go back to the head of their queue and are sent again, with the same id,
   * after the rejoin (a server with de-duplication answers a resend with the original reply).
   */
  inFlightOnLoss?: 'settle' | 'resend';
}

export const OUTBOX_DEFAULTS = { maxMessages: 1000, maxBytes: 1024 * 1024, ttlMs: 300_000 } as const;

/** What the outbox needs from its socket. */
export interface OutboxHost {
  readonly clock: Clock;
  /** A store write finished (or failed) for a message on `topic`: its channel may send what is ready. */
  stored(topic: string): void;
  emitError(error: TetherClientError): void;
}

type AnyPush = Push<unknown>;

export class Outbox {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly ttlMs: number | null;
  readonly store: OutboxStore;
  readonly inFlightOnLoss: 'settle' | 'resend';
  readonly #host: OutboxHost;
  readonly #queues = new Map<string, AnyPush[]>();
  readonly #inFlight = new Map<string, Set<AnyPush>>();
  /** Messages the store may hold: deleted from it when they settle. */
  readonly #stored = new Set<AnyPush>();
  #count = 0;
  #byteCount = 0;

  constructor(options: OutboxOptions = {}, host: OutboxHost) {
    this.maxMessages = options.maxMessages ?? OUTBOX_DEFAULTS.maxMessages;
    this.maxBytes = options.maxBytes ?? OUTBOX_DEFAULTS.maxBytes;
    this.ttlMs = options.ttlMs === undefined ? OUTBOX_DEFAULTS.ttlMs : options.ttlMs;
    this.store = options.store ?? new MemoryOutboxStore();
    this.inFlightOnLoss = options.inFlightOnLoss ?? 'settle';
    this.#host = host;
  }

  get depth(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#byteCount;
  }

  /** Accepts a new message (written to the store, TTL armed) or settles it `rejected` and returns false. */
  accept(push: AnyPush): boolean {
    const refused = this.#refusal(push);
    if (refused) {
      push.settle({ status: 'rejected', error: refused });
      return false;
    }
    let write: void | Promise<void>;
    try {
      write = this.store.put(toStored(push));
    } catch (err) {
      push.persisted = Promise.resolve(false);
      push.settle({ status: 'rejected', error: this.#storeFailed(push, err) });
      return false;
    }
    this.#hold(push);
    if (write && typeof write.then === 'function') {
      push.storePending = true;
      push.persisted = write.then(
        () => this.#written(push, null),
        (err: unknown) => this.#written(push, err ?? new Error('the store rejected the write')),
      );
    }
    this.#armExpiry(push, false);
    return true;
  }

  /** Loads the store's messages back (same ids, same order); returns the highest seq seen. */
  async restore(pushHost: PushHost, track: (push: AnyPush) => void): Promise<number> {
    let stored: StoredMessage[];
    try {
      stored = await this.store.load();
    } catch (err) {
      this.#host.emitError(new TetherClientError('store_failed', `The outbox store could not be read: ${(err as Error).message}. Messages from the previous session are not resent.`, { cause: err }));
      return 0;
    }
    let maxSeq = 0;
    for (const m of stored) {
      maxSeq = Math.max(maxSeq, m.seq);
      const push = new Push<unknown>(pushHost, { ...m, bytes: typeof m.body === 'string' ? utf8Length(m.body) : m.body.byteLength, inOutbox: true });
      track(push);
      const refused = this.#refusal(push);
      if (refused) {
        // Not held, but the store has it: settling deletes it there (release).
        this.#stored.add(push);
        push.settle({ status: 'rejected', error: refused });
      } else {
        this.#hold(push);
        this.#armExpiry(push, true);
      }
    }
    return maxSeq;
  }

  /** The oldest unsent message for `topic`. */
  head(topic: string): AnyPush | undefined {
    return this.#queues.get(topic)?.[0];
  }

  markSent(push: AnyPush): void {
    push.disarm();
    const q = this.#queues.get(push.topic);
    if (q && q[0] === push) q.shift();
    else if (q) removeFrom(q, push);
    if (q && q.length === 0) this.#queues.delete(push.topic);
    let set = this.#inFlight.get(push.topic);
    if (!set) this.#inFlight.set(push.topic, (set = new Set()));
    set.add(push);
    push.phase = PushPhases.sent;
  }

  /** Messages sent on `topic` and not answered yet, oldest first. */
  inFlightFor(topic: string): AnyPush[] {
    const set = this.#inFlight.get(topic);
    return set ? [...set].sort((a, b) => a.seq - b.seq) : [];
  }

  /** Puts a sent message back in its queue, in order, to be sent again, with its TTL running again. */
  requeue(push: AnyPush): void {
    push.disarm();
    this.#inFlight.get(push.topic)?.delete(push);
    push.phase = PushPhases.queued;
    push.ref = null;
    push.joinRef = null;
    this.#insert(push);
    this.#armExpiry(push, false);
  }

  /** Settles an unsent message whose TTL passed (or re-arms, when a clamped timer fired early). */
  expireIfDue(push: AnyPush): boolean {
    if (push.expiresAt === null || push.settled) return false;
    const now = this.#host.clock.now();
    if (now < push.expiresAt) {
      push.arm(push.expiresAt - now, () => this.expireIfDue(push));
      return false;
    }
    const error = new TetherClientError('outbox_expired', `"${push.event}" to ${push.topic} waited ${now - push.createdAt} ms in the outbox without being sent and expired (ttl). Raise ttlMs, or resync once the channel is joined.`, { topic: push.topic });
    push.settle({ status: 'rejected', error });
    return true;
  }

  /** Forgets a settled message, here and in the store (any outcome). */
  release(push: AnyPush): void {
    const q = this.#queues.get(push.topic);
    const wasQueued = q ? removeFrom(q, push) : false;
    if (q && q.length === 0) this.#queues.delete(push.topic);
    const set = this.#inFlight.get(push.topic);
    const wasInFlight = set ? set.delete(push) : false;
    if (set && set.size === 0) this.#inFlight.delete(push.topic);
    if (wasQueued || wasInFlight) {
      this.#count -= 1;
      this.#byteCount -= push.bytes;
    }
    if (!this.#stored.delete(push)) return;
    try {
      const removal = this.store.delete(push.id);
      if (removal && typeof removal.then === 'function') removal.then(undefined, (err: unknown) => this.#deleteFailed(push, err));
    } catch (err) {
      this.#deleteFailed(push, err);
    }
  }

  #refusal(push: AnyPush): TetherClientError | null {
    if (this.#count + 1 > this.maxMessages) {
      return new TetherClientError(
        'outbox_full',
        `The outbox already holds ${this.#count} messages (maxMessages ${this.maxMessages}), so "${push.event}" to ${push.topic} was not accepted. Wait for the link to come back (socket state event) or raise outbox.maxMessages.`,
        { topic: push.topic },
      );
    }
    if (this.#byteCount + push.bytes > this.maxBytes) {
      return new TetherClientError(
        'outbox_full',
        `The outbox holds ${this.#byteCount} bytes and "${push.event}" to ${push.topic} adds ${push.bytes}, over maxBytes ${this.maxBytes}. Wait for the link to come back or raise outbox.maxBytes.`,
        { topic: push.topic },
      );
    }
    return null;
  }

  #hold(push: AnyPush): void {
    this.#stored.add(push);
    this.#count += 1;
    this.#byteCount += push.bytes;
    this.#insert(push);
  }

  /** An asynchronous store write finished: a failed one settles the (still unsent) message `rejected`. */
  #written(push: AnyPush, err: unknown): boolean {
    push.storePending = false;
    if (err !== null) {
      this.#stored.delete(push);
      const error = this.#storeFailed(push, err);
      push.settle({ status: 'rejected', error });
    }
    this.#host.stored(push.topic);
    return err === null;
  }

  #storeFailed(push: AnyPush, err: unknown): TetherClientError {
    const error = new TetherClientError('store_failed', `The outbox store could not save "${push.event}" to ${push.topic}: ${messageOf(err)}. It was not sent. Check the store (disk space, permissions, quota).`, { topic: push.topic, cause: err });
    this.#host.emitError(error);
    return error;
  }

  #deleteFailed(push: AnyPush, err: unknown): void {
    this.#host.emitError(new TetherClientError('store_failed', `The outbox store could not delete message ${push.id}: ${messageOf(err)}. It may be sent again after a restart.`, { topic: push.topic, cause: err }));
  }

  #armExpiry(push: AnyPush, atOnceIfDue: boolean): void {
    if (push.expiresAt === null) return;
    if (atOnceIfDue && this.expireIfDue(push)) return;
    push.arm(Math.max(0, push.expiresAt - this.#host.clock.now()), () => this.expireIfDue(push));
  }

  #insert(push: AnyPush): void {
    let q = this.#queues.get(push.topic);
    if (!q) this.#queues.set(push.topic, (q = []));
    let i = q.length;
    while (i > 0 && q[i - 1].seq > push.seq) i--;
    q.splice(i, 0, push);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function removeFrom(list: AnyPush[], push: AnyPush): boolean {
  const i = list.indexOf(push);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

export function toStored(push: AnyPush): StoredMessage {
  return {
    id: push.id,
    seq: push.seq,
    topic: push.topic,
    event: push.event,
    body: push.body,
    createdAt: push.createdAt,
    expiresAt: push.expiresAt,
    timeoutMs: push.timeoutMs,
  };
}
