/**
 * Replay on rejoin: what a joining subscriber missed, read from the topic's history, and the seam between
 * that replay and the live stream. A store failure while reading is reported (`onError`) and answered as
 * lost (`unavailable`), never as a partial replay.
 *
 * Order of operations that makes the seam exact (no gap, no duplicate):
 *   1. the subscriber's live delivery is switched on, through a `LiveSeam` that buffers;
 *   2. `recover()` reads the history (anything published from now on is in the seam's buffer);
 *   3. the join reply goes out, then the replayed entries;
 *   4. `seam.open(position)` hands back the buffered live messages past the replayed position, in order.
 */
import type { HistoryEntry, HistoryStore, StreamPosition } from '../../broker/types.ts';
import type { RecoveryLostReason } from '../../protocol/extension.ts';
import { asError } from '../unknown.ts';

export type JoinRecovery =
  /** No position was sent (a first join): the subscriber starts at `position`. */
  | { kind: 'fresh'; position: StreamPosition }
  /** Every missed message, in order; `position` is the last one's (or `since` when nothing was missed). */
  | { kind: 'recovered'; entries: HistoryEntry[]; position: StreamPosition }
  /** Nothing is replayed; the subscriber starts at `position` and must resync from the application. */
  | { kind: 'lost'; reason: RecoveryLostReason; position: StreamPosition };

/**
 * Reads what a subscriber at `since` missed. A store answer that is not one contiguous run starting right
 * after `since` is reported as lost (`gap_too_large`), never replayed in part.
 */
export async function recover(
  history: HistoryStore,
  topic: string,
  since: StreamPosition | undefined,
  onError?: (error: Error) => void,
): Promise<JoinRecovery> {
  try {
    if (since === undefined) return { kind: 'fresh', position: await history.position(topic) };
    const result = await history.range(topic, since);
    if (!result.recovered) return { kind: 'lost', reason: result.reason, position: result.position };
    const { entries } = result;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i].offset !== since.offset + 1 + i) {
        return { kind: 'lost', reason: 'gap_too_large', position: result.position };
      }
    }
    const last = entries.length > 0 ? entries[entries.length - 1].offset : since.offset;
    return { kind: 'recovered', entries, position: { epoch: result.position.epoch, offset: last } };
  } catch (error) {
    onError?.(asError(error));
    // An empty epoch tells the client there is no position to keep.
    return { kind: 'lost', reason: 'unavailable', position: { epoch: '', offset: 0 } };
  }
}

/** Live messages buffered during one replay before the seam gives up (see `open`). */
const DEFAULT_SEAM_BUFFER = 10_000;

/**
 * Holds one subscriber's live messages on one topic while its replay is read and sent, then releases those
 * past the replayed position. After `open` it keeps filtering (a redelivered offset is dropped), though a
 * caller may simply stop consulting it since live delivery is in order.
 */
export class LiveSeam<T> {
  readonly #positionOf: (item: T) => StreamPosition | undefined;
  readonly #maxBuffered: number;
  #buffer: T[] | null = [];
  #overflowed = false;
  #epoch = '';
  #last = -1;

  constructor(positionOf: (item: T) => StreamPosition | undefined, maxBuffered = DEFAULT_SEAM_BUFFER) {
    this.#positionOf = positionOf;
    this.#maxBuffered = maxBuffered;
  }

  /** True while the replay is in flight and live messages are held back. */
  get buffering(): boolean {
    return this.#buffer !== null;
  }

  /** True when the caller should deliver `item` now; false when it was held back or is already covered. */
  admit(item: T): boolean {
    if (this.#buffer !== null) {
      if (this.#buffer.length >= this.#maxBuffered) this.#overflowed = true;
      else if (!this.#overflowed) this.#buffer.push(item);
      return false;
    }
    return this.#advance(this.#positionOf(item));
  }

  /**
   * Ends buffering at `position` (where the replay left the subscriber) and returns the held live messages
   * to deliver, in order, without those the replay already covered. Returns null when more than the buffer
   * limit arrived meanwhile: the caller must not deliver a partial stream (it fails the channel instead, and
   * the client's rejoin recovers from its last position).
   */
  open(position: StreamPosition): T[] | null {
    const held = this.#buffer ?? [];
    this.#buffer = null;
    this.#epoch = position.epoch;
    this.#last = position.offset;
    if (this.#overflowed) return null;
    const out: T[] = [];
    for (const item of held) if (this.#advance(this.#positionOf(item))) out.push(item);
    return out;
  }

  #advance(position: StreamPosition | undefined): boolean {
    if (position === undefined) return true;
    if (position.epoch === this.#epoch && position.offset <= this.#last) return false;
    this.#epoch = position.epoch;
    this.#last = position.offset;
    return true;
  }
}
