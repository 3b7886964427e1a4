import { randomBytes } from 'node:crypto';
import type { Payload } from '../protocol/frame.ts';
import type { HistoryEntry, HistoryPolicy, HistoryStore, RecoveryResult, StreamPosition } from './types.ts';

export interface MemoryHistoryOptions {
  /** Milliseconds clock used for TTL; default `Date.now`. Inject one to test expiry in virtual time. */
  now?: () => number;
}

interface TimedEntry extends HistoryEntry {
  at: number;
}

/** One topic's stream: entries `[head, entries.length)` are live, with consecutive offsets ending at `last`. */
interface TopicStream {
  epoch: string;
  last: number;
  entries: TimedEntry[];
  head: number;
  ttlMs: number;
}

/** Compact the backing array once this many evicted slots sit before `head` (and they outnumber live ones). */
const COMPACT_AFTER = 1024;

export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * In-process history: a bounded queue per topic, trimmed by count on append and by age on every read.
 * Every topic's epoch is drawn at random when the store first sees it, so a restarted process (a new store)
 * never hands out positions a client could confuse with the old ones.
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly #now: () => number;
  readonly #topics = new Map<string, TopicStream>();

  constructor(options: MemoryHistoryOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  append(topic: string, event: string, payload: Payload, policy: HistoryPolicy): Promise<StreamPosition> {
    return Promise.resolve(this.appendNow(topic, event, payload, policy));
  }

  /** The synchronous core of `append`, for the memory broker's publish path. @internal */
  appendNow(topic: string, event: string, payload: Payload, policy: HistoryPolicy): StreamPosition {
    const stream = this.#stream(topic);
    const now = this.#now();
    const offset = ++stream.last;
    stream.ttlMs = policy.ttlMs ?? 0;
    stream.entries.push({ offset, event, payload, at: now });
    const max = policy.maxMessages;
    if (max !== undefined && stream.entries.length - stream.head > max) {
      stream.head = stream.entries.length - max;
    }
    this.#expire(stream, now);
    return { epoch: stream.epoch, offset };
  }

  range(topic: string, since: StreamPosition): Promise<RecoveryResult> {
    const stream = this.#stream(topic);
    const position = { epoch: stream.epoch, offset: stream.last };
    if (since.epoch !== stream.epoch || since.offset > stream.last || since.offset < 0) {
      return Promise.resolve({ recovered: false, reason: 'epoch_changed', position });
    }
    this.#expire(stream, this.#now());
    const oldest = stream.head < stream.entries.length ? stream.entries[stream.head].offset : stream.last + 1;
    if (since.offset + 1 < oldest) return Promise.resolve({ recovered: false, reason: 'gap_too_large', position });
    const from = stream.head + (since.offset + 1 - oldest);
    const entries: HistoryEntry[] = [];
    for (let i = from; i < stream.entries.length; i++) {
      const e = stream.entries[i];
      entries.push({ offset: e.offset, event: e.event, payload: e.payload });
    }
    return Promise.resolve({ recovered: true, entries, position });
  }

  position(topic: string): Promise<StreamPosition> {
    const stream = this.#stream(topic);
    return Promise.resolve({ epoch: stream.epoch, offset: stream.last });
  }

  #stream(topic: string): TopicStream {
    let stream = this.#topics.get(topic);
    if (!stream) {
      stream = { epoch: newEpoch(), last: 0, entries: [], head: 0, ttlMs: 0 };
      this.#topics.set(topic, stream);
    }
    return stream;
  }

  #expire(stream: TopicStream, now: number): void {
    if (stream.ttlMs > 0) {
      const cutoff = now - stream.ttlMs;
      while (stream.head < stream.entries.length && stream.entries[stream.head].at <= cutoff) stream.head++;
    }
    if (stream.head >= COMPACT_AFTER && stream.head * 2 >= stream.entries.length) {
      stream.entries = stream.entries.slice(stream.head);
      stream.head = 0;
    }
  }
}
