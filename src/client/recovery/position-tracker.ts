/**
 * The client's memory of where it stands in each history-enabled topic: the last `(epoch, offset)` it
 * delivered. Every positioned message is checked against it, so a duplicate is never delivered twice and a
 * gap or an epoch change is noticed at the first message after it (the channel then rejoins from the last
 * good position and the server replays the gap, or answers `recovered: false`).
 */
import type { StreamPosition } from '../../protocol/extension.ts';

export type PositionCheck =
  /** Next in sequence (or the first positioned message seen): deliver it; the position advanced. */
  | { kind: 'next' }
  /** At or before the last delivered offset: drop it. */
  | { kind: 'duplicate'; last: StreamPosition }
  /** Offsets were skipped: do not deliver; recover from `last`. */
  | { kind: 'gap'; last: StreamPosition; received: StreamPosition }
  /** The stream was reset on the server (history lost): do not deliver; rejoin, which reports recovered:false. */
  | { kind: 'epoch_changed'; last: StreamPosition; received: StreamPosition };

/** Shared: the common case allocates nothing per message. */
const NEXT: PositionCheck = Object.freeze({ kind: 'next' });

export class PositionTracker {
  readonly #positions = new Map<string, StreamPosition>();

  get(topic: string): StreamPosition | undefined {
    return this.#positions.get(topic);
  }

  /** Sets the position outright, from a join reply. */
  set(topic: string, position: StreamPosition): void {
    this.#positions.set(topic, { epoch: position.epoch, offset: position.offset });
  }

  forget(topic: string): void {
    this.#positions.delete(topic);
  }

  /** Checks a live message at `received` against the topic's last position and advances on `next`. */
  check(topic: string, received: StreamPosition): PositionCheck {
    const last = this.#positions.get(topic);
    if (last === undefined) {
      this.set(topic, received);
      return NEXT;
    }
    if (received.epoch !== last.epoch) return { kind: 'epoch_changed', last: { ...last }, received };
    if (received.offset <= last.offset) return { kind: 'duplicate', last: { ...last } };
    if (received.offset !== last.offset + 1) return { kind: 'gap', last: { ...last }, received };
    last.offset = received.offset;
    return NEXT;
  }
}
