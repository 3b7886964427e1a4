/**
 * Messages accepted by `channel.push()` until they settle: queued (not yet sent) or in flight (sent, awaiting a
 * reply). Bounded by count and bytes; order kept per topic; every message mirrored to an OutboxStore so a
 * durable store can hand unsettled messages to the next process.
 */
import { TetherClientError } from './errors.ts';
import { PushPhases, type Push } from './push.ts';
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

type AnyPush = Push<unknown>;

export class Outbox {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly ttlMs: number | null;
  readonly store: OutboxStore;
  readonly inFlightOnLoss: 'settle' | 'resend';
  private readonly queues = new Map<string, AnyPush[]>();
  private readonly inFlight = new Map<string, Set<AnyPush>>();
  private count = 0;
  private byteCount = 0;

  constructor(options: OutboxOptions = {}) {
    this.maxMessages = options.maxMessages ?? OUTBOX_DEFAULTS.maxMessages;
    this.maxBytes = options.maxBytes ?? OUTBOX_DEFAULTS.maxBytes;
    this.ttlMs = options.ttlMs === undefined ? OUTBOX_DEFAULTS.ttlMs : options.ttlMs;
    this.store = options.store ?? new MemoryOutboxStore();
    this.inFlightOnLoss = options.inFlightOnLoss ?? 'settle';
  }

  get depth(): number {
    return this.count;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Admits a message or says why not. `persist` false for messages loaded from the store. */
  admit(push: AnyPush, persist: boolean): TetherClientError | null {
    if (this.count + 1 > this.maxMessages) {
      return new TetherClientError(
        'outbox_full',
        `The outbox already holds ${this.count} messages (maxMessages ${this.maxMessages}), so "${push.event}" to ${push.topic} was not accepted. Wait for the link to come back (socket state event) or raise outbox.maxMessages.`,
        { topic: push.topic },
      );
    }
    if (this.byteCount + push.bytes > this.maxBytes) {
      return new TetherClientError(
        'outbox_full',
        `The outbox holds ${this.byteCount} bytes and "${push.event}" to ${push.topic} adds ${push.bytes}, over maxBytes ${this.maxBytes}. Wait for the link to come back or raise outbox.maxBytes.`,
        { topic: push.topic },
      );
    }
    if (persist) {
      try {
        push.persisted = Promise.resolve(this.store.put(toStored(push)));
      } catch (err) {
        return new TetherClientError('store_failed', `The outbox store could not save "${push.event}" to ${push.topic}: ${(err as Error).message}. Check the store (disk space, permissions, quota).`, { topic: push.topic, cause: err });
      }
    }
    this.count += 1;
    this.byteCount += push.bytes;
    this.insert(push);
    return null;
  }

  /** The oldest unsent message for `topic`. */
  head(topic: string): AnyPush | undefined {
    return this.queues.get(topic)?.[0];
  }

  markSent(push: AnyPush): void {
    const q = this.queues.get(push.topic);
    if (q && q[0] === push) q.shift();
    else if (q) removeFrom(q, push);
    if (q && q.length === 0) this.queues.delete(push.topic);
    let set = this.inFlight.get(push.topic);
    if (!set) this.inFlight.set(push.topic, (set = new Set()));
    set.add(push);
    push.phase = PushPhases.sent;
  }

  /** Messages sent on `topic` and not answered yet, oldest first. */
  inFlightFor(topic: string): AnyPush[] {
    const set = this.inFlight.get(topic);
    return set ? [...set].sort((a, b) => a.seq - b.seq) : [];
  }

  /** Puts a sent message back in its queue, in order, to be sent again. */
  requeue(push: AnyPush): void {
    this.inFlight.get(push.topic)?.delete(push);
    push.phase = PushPhases.queued;
    push.ref = null;
    push.joinRef = null;
    this.insert(push);
  }

  /** Forgets a settled message, here and in the store. */
  release(push: AnyPush): Promise<void> | void {
    const q = this.queues.get(push.topic);
    const wasQueued = q ? removeFrom(q, push) : false;
    if (q && q.length === 0) this.queues.delete(push.topic);
    const set = this.inFlight.get(push.topic);
    const wasInFlight = set ? set.delete(push) : false;
    if (set && set.size === 0) this.inFlight.delete(push.topic);
    if (!wasQueued && !wasInFlight) return;
    this.count -= 1;
    this.byteCount -= push.bytes;
    return this.store.delete(push.id);
  }

  private insert(push: AnyPush): void {
    let q = this.queues.get(push.topic);
    if (!q) this.queues.set(push.topic, (q = []));
    let i = q.length;
    while (i > 0 && q[i - 1].seq > push.seq) i--;
    q.splice(i, 0, push);
  }
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
