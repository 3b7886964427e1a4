import { randomBytes } from 'node:crypto';
import type { Payload } from '../protocol/frame.ts';
import { positiveInteger } from './bounds.ts';
import type { HistoryEntry, HistoryPolicy, HistoryStore, RecoveryResult, StreamPosition } from './types.ts';

const positive = positiveInteger.bind(null, 'MemoryHistoryStore');

/**
 * The bounds of the in-process history (docs/recovery.md, "Bounds"). Every limit applies on top of each channel's
 * policy. The defaults are HISTORY_LIMIT_DEFAULTS (the `@defaultValue` tags are checked against it).
 */
export interface HistoryLimits {
  /** Per-topic ceiling on stored messages, whatever the channel's `maxMessages` says. @defaultValue `10000` */
  maxMessages?: number;
  /**
   * A message whose stored size is larger is delivered live but not stored, and the topic's older entries are
   * dropped with it (no replay can cross it, so a rejoin from before it answers `recovered: false`).
   * @defaultValue `1048576` (1 MiB)
   */
  maxMessageBytes?: number;
  /** Stored bytes per topic; the oldest entries go first. @defaultValue `8388608` (8 MiB) */
  maxTopicBytes?: number;
  /** Stored bytes of all topics together; the oldest entries of any topic go first. @defaultValue `67108864` (64 MiB) */
  maxTotalBytes?: number;
  /** Topics kept at once; a new topic past it drops the one appended to least recently. @defaultValue `10000` */
  maxTopics?: number;
  /**
   * A topic with no subscriber on this node and no append for this long is dropped by the sweep (its next
   * append starts a new epoch). Without it: the topic's own `ttlMs` (topics without one stay until `maxTopics`).
   */
  idleMs?: number;
}

export interface MemoryHistoryOptions extends HistoryLimits {
  /** Milliseconds clock used for TTL and idleness; default `Date.now`. Inject one to test expiry in virtual time. */
  now?: () => number;
  /** Whether this node has subscribers on a topic (the memory broker tells); idle topics with some are kept. */
  hasSubscribers?: (topic: string) => boolean;
}

const MiB = 1024 * 1024;

export const HISTORY_LIMIT_DEFAULTS = {
  maxMessages: 10_000,
  maxMessageBytes: MiB,
  maxTopicBytes: 8 * MiB,
  maxTotalBytes: 64 * MiB,
  maxTopics: 10_000,
} as const;

/**
 * What one stored entry is charged beyond its encoded payload and event name: the entry record, its slot in
 * two arrays and the Buffer's header. It keeps floods of tiny messages inside the byte bounds too.
 */
export const ENTRY_OVERHEAD_BYTES = 96;

/**
 * One stored entry. The payload is kept encoded (UTF-8 JSON or a copy of the bytes) so the bytes charged are
 * the bytes held, off the V8 heap, and a later mutation of the caller's object cannot rewrite history.
 */
interface StoredEntry {
  offset: number;
  event: string;
  /** Emptied on eviction: the slot (and a ref in the append order) may outlive the entry until compaction. */
  data: Buffer;
  json: boolean;
  at: number;
  bytes: number;
}

/** One topic's stream: entries `[head, entries.length)` are live, with consecutive offsets ending at `last`. */
interface TopicStream {
  topic: string;
  epoch: string;
  last: number;
  entries: StoredEntry[];
  head: number;
  ttlMs: number;
  bytes: number;
  lastActive: number;
  dropped: boolean;
}

interface OrderRef {
  stream: TopicStream;
  entry: StoredEntry;
}

/** Compact a backing array once this many evicted slots sit before its head (and they outnumber live ones). */
const COMPACT_AFTER = 1024;
/** How many least-recently-appended topics to look at for one without subscribers before dropping the oldest. */
const TOPIC_DROP_SCAN = 64;

export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

const RELEASED = Buffer.alloc(0);

/** `json` is `JSON.stringify(payload)` when the caller already has it. */
function encodeEntry(payload: Payload, json: string | undefined): { data: Buffer; json: boolean } {
  if (payload instanceof Uint8Array) return { data: Buffer.from(payload), json: false };
  return { data: Buffer.from(json ?? JSON.stringify(payload)), json: true };
}

/**
 * In-process history, bounded in count, bytes, topics and time. Entries are evicted oldest first: per topic
 * by count, bytes and age, across topics by total bytes. An evicted range is simply no longer there, so a
 * rejoin that needs it gets `gap_too_large` (`recovered: false`), never a partial replay. Every topic's
 * epoch is drawn at random when the store first sees it, so a restarted process (or a dropped and re-created
 * topic) never hands out positions a client could confuse with the old ones.
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly limits: Required<Omit<HistoryLimits, 'idleMs'>> & { idleMs: number | undefined };
  readonly #now: () => number;
  readonly #hasSubscribers: (topic: string) => boolean;
  /** In order of last append (least recent first), for dropping topics past `maxTopics`. */
  readonly #topics = new Map<string, TopicStream>();
  /** Every stored entry in append order, for evicting the oldest across topics; stale refs are skipped. */
  #order: OrderRef[] = [];
  #orderHead = 0;
  #totalBytes = 0;
  #liveEntries = 0;

  constructor(options: MemoryHistoryOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#hasSubscribers = options.hasSubscribers ?? (() => false);
    this.limits = {
      maxMessages: positive('maxMessages', options.maxMessages, HISTORY_LIMIT_DEFAULTS.maxMessages),
      maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, HISTORY_LIMIT_DEFAULTS.maxMessageBytes),
      maxTopicBytes: positive('maxTopicBytes', options.maxTopicBytes, HISTORY_LIMIT_DEFAULTS.maxTopicBytes),
      maxTotalBytes: positive('maxTotalBytes', options.maxTotalBytes, HISTORY_LIMIT_DEFAULTS.maxTotalBytes),
      maxTopics: positive('maxTopics', options.maxTopics, HISTORY_LIMIT_DEFAULTS.maxTopics),
      idleMs: options.idleMs === undefined ? undefined : positive('idleMs', options.idleMs, 0),
    };
  }

  /** Bytes charged for the stored entries of every topic (payload + event + ENTRY_OVERHEAD_BYTES each). */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  get topicCount(): number {
    return this.#topics.size;
  }

  /** Stored entries and bytes of one topic (zeros when the store does not hold it). */
  usage(topic: string): { messages: number; bytes: number } {
    const stream = this.#topics.get(topic);
    return stream ? { messages: stream.entries.length - stream.head, bytes: stream.bytes } : { messages: 0, bytes: 0 };
  }

  append(topic: string, event: string, payload: Payload, policy: HistoryPolicy): Promise<StreamPosition> {
    return Promise.resolve(this.appendNow(topic, event, payload, policy));
  }

  /**
   * The synchronous core of `append`, for the memory broker's publish path, which passes the payload's JSON
   * (`payloadJson`, exactly `JSON.stringify(payload)`) so it is encoded once for the store and fan-out. @internal
   */
  appendNow(topic: string, event: string, payload: Payload, policy: HistoryPolicy, payloadJson?: string): StreamPosition {
    const now = this.#now();
    const stream = this.#stream(topic, now);
    // Re-inserted so the Map's order stays "least recently appended first".
    this.#topics.delete(topic);
    this.#topics.set(topic, stream);
    const offset = ++stream.last;
    stream.ttlMs = policy.ttlMs ?? 0;
    stream.lastActive = now;
    const { data, json } = encodeEntry(payload, payloadJson);
    if (data.byteLength > this.limits.maxMessageBytes) {
      // No replay can cross this offset, so what came before it is of no use to anyone.
      while (stream.head < stream.entries.length) this.#evictHead(stream);
      this.#compact(stream);
      return { epoch: stream.epoch, offset };
    }
    const entry: StoredEntry = { offset, event, data, json, at: now, bytes: data.byteLength + Buffer.byteLength(event) + ENTRY_OVERHEAD_BYTES };
    stream.entries.push(entry);
    stream.bytes += entry.bytes;
    this.#totalBytes += entry.bytes;
    this.#liveEntries++;
    this.#order.push({ stream, entry });
    const max = Math.min(policy.maxMessages ?? Infinity, this.limits.maxMessages);
    while (stream.entries.length - stream.head > max || stream.bytes > this.limits.maxTopicBytes) this.#evictHead(stream);
    this.#expire(stream, now);
    while (this.#totalBytes > this.limits.maxTotalBytes) this.#evictOldest();
    this.#compactOrder();
    return { epoch: stream.epoch, offset };
  }

  range(topic: string, since: StreamPosition): Promise<RecoveryResult> {
    const now = this.#now();
    const stream = this.#stream(topic, now);
    const position = { epoch: stream.epoch, offset: stream.last };
    if (since.epoch !== stream.epoch || since.offset > stream.last || since.offset < 0) {
      return Promise.resolve({ recovered: false, reason: 'epoch_changed', position });
    }
    this.#expire(stream, now);
    const oldest = stream.head < stream.entries.length ? stream.entries[stream.head].offset : stream.last + 1;
    if (since.offset + 1 < oldest) return Promise.resolve({ recovered: false, reason: 'gap_too_large', position });
    const from = stream.head + (since.offset + 1 - oldest);
    const entries: HistoryEntry[] = [];
    for (let i = from; i < stream.entries.length; i++) {
      const e = stream.entries[i];
      entries.push({ offset: e.offset, event: e.event, payload: e.json ? (JSON.parse(e.data.toString('utf8')) as Payload) : new Uint8Array(e.data) });
    }
    return Promise.resolve({ recovered: true, entries, position });
  }

  position(topic: string): Promise<StreamPosition> {
    const stream = this.#stream(topic, this.#now());
    return Promise.resolve({ epoch: stream.epoch, offset: stream.last });
  }

  /** The topic lost its last subscriber on this node: its idle time counts from now, so a quick rejoin recovers. */
  touch(topic: string): void {
    const stream = this.#topics.get(topic);
    if (stream) stream.lastActive = this.#now();
  }

  /** Expires entries by age in every topic and drops idle topics; the memory broker runs it on a timer. */
  sweep(): void {
    const now = this.#now();
    for (const stream of [...this.#topics.values()]) {
      this.#expire(stream, now);
      const idleMs = this.limits.idleMs ?? stream.ttlMs;
      if (idleMs > 0 && now - stream.lastActive >= idleMs && !this.#hasSubscribers(stream.topic)) this.#drop(stream);
    }
    this.#compactOrder();
  }

  #stream(topic: string, now: number): TopicStream {
    let stream = this.#topics.get(topic);
    if (!stream) {
      if (this.#topics.size >= this.limits.maxTopics) this.#dropLeastRecent();
      stream = { topic, epoch: newEpoch(), last: 0, entries: [], head: 0, ttlMs: 0, bytes: 0, lastActive: now, dropped: false };
      this.#topics.set(topic, stream);
    }
    return stream;
  }

  #dropLeastRecent(): void {
    let victim: TopicStream | undefined;
    let scanned = 0;
    for (const stream of this.#topics.values()) {
      victim ??= stream;
      if (!this.#hasSubscribers(stream.topic)) {
        victim = stream;
        break;
      }
      if (++scanned >= TOPIC_DROP_SCAN) break;
    }
    if (victim) this.#drop(victim);
  }

  #drop(stream: TopicStream): void {
    for (let i = stream.head; i < stream.entries.length; i++) stream.entries[i].data = RELEASED;
    this.#totalBytes -= stream.bytes;
    this.#liveEntries -= stream.entries.length - stream.head;
    stream.dropped = true;
    stream.entries = [];
    stream.head = 0;
    stream.bytes = 0;
    this.#topics.delete(stream.topic);
  }

  #evictHead(stream: TopicStream): void {
    const entry = stream.entries[stream.head++];
    entry.data = RELEASED;
    stream.bytes -= entry.bytes;
    this.#totalBytes -= entry.bytes;
    this.#liveEntries--;
  }

  /** The oldest stored entry of all is the head of its topic (per-topic order is append order). */
  #evictOldest(): void {
    while (this.#orderHead < this.#order.length) {
      const { stream, entry } = this.#order[this.#orderHead++];
      if (!stream.dropped && stream.head < stream.entries.length && stream.entries[stream.head] === entry) {
        this.#evictHead(stream);
        this.#compact(stream);
        return;
      }
    }
  }

  #expire(stream: TopicStream, now: number): void {
    if (stream.ttlMs > 0) {
      const cutoff = now - stream.ttlMs;
      while (stream.head < stream.entries.length && stream.entries[stream.head].at <= cutoff) this.#evictHead(stream);
    }
    this.#compact(stream);
  }

  #compact(stream: TopicStream): void {
    if (stream.head === stream.entries.length && stream.head > 0) {
      stream.entries = [];
      stream.head = 0;
    } else if (stream.head >= COMPACT_AFTER && stream.head * 2 >= stream.entries.length) {
      stream.entries = stream.entries.slice(stream.head);
      stream.head = 0;
    }
  }

  /** Drops refs to entries evicted per topic once they outnumber the live ones, so the order list stays bounded. */
  #compactOrder(): void {
    const held = this.#order.length - this.#orderHead;
    if (held < COMPACT_AFTER || held <= 2 * this.#liveEntries) return;
    this.#order = this.#order.slice(this.#orderHead).filter(({ stream, entry }) => !stream.dropped && entry.offset >= oldestOffset(stream));
    this.#orderHead = 0;
  }
}

function oldestOffset(stream: TopicStream): number {
  return stream.head < stream.entries.length ? stream.entries[stream.head].offset : stream.last + 1;
}
