/**
 * One history read for many rejoins: a fleet that moves to this node after another one drained (or comes back
 * after a restart) rejoins the same topic from the same few positions within a second. Identical range reads
 * in flight at the same time (same topic, epoch and offset) share one store round trip and one decode; the
 * entry is dropped as soon as the read settles, so nothing is cached and the map holds at most the reads in
 * flight (one per distinct position being read). Entries handed to several joins are only ever read.
 */
import type { HistoryPolicy, HistoryStore, RecoveryResult, StreamPosition } from '../../broker/types.ts';
import type { Payload } from '../../protocol/frame.ts';

export class SharedRanges implements HistoryStore {
  readonly #store: HistoryStore;
  readonly #inFlight = new Map<string, Promise<RecoveryResult>>();

  constructor(store: HistoryStore) {
    this.#store = store;
  }

  /** Reads that are in flight now (each shared by every caller asking the same while it is). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  append(topic: string, event: string, payload: Payload, policy: HistoryPolicy): Promise<StreamPosition> {
    return this.#store.append(topic, event, payload, policy);
  }

  position(topic: string): Promise<StreamPosition> {
    return this.#store.position(topic);
  }

  range(topic: string, since: StreamPosition): Promise<RecoveryResult> {
    // Topic and epoch are client strings: a Map key only, joined with a separator neither may be confused across.
    const key = `${since.offset}\u0000${since.epoch.length}\u0000${since.epoch}${topic}`;
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const read = this.#store.range(topic, since);
    this.#inFlight.set(key, read);
    const forget = () => {
      if (this.#inFlight.get(key) === read) this.#inFlight.delete(key);
    };
    read.then(forget, forget);
    return read;
  }
}
