/**
 * Node-level recovery of history-enabled topics after a broker `gap` event (messages may have been missed,
 * e.g. while the broker's pub/sub connection was down). From the last position it delivered, the node reads
 * what it missed from the history (through the same `recover` + `LiveSeam` as a rejoining client), delivers
 * it in order before any later live message, and when the history cannot fill the hole it tells every local
 * subscriber of the topic to rejoin (`resync`), so opted-in clients get `recovered: false` from their join.
 */
import type { BrokerMessage, HistoryEntry, HistoryStore, StreamPosition } from '../../broker/types.ts';
import type { RecoveryLostReason } from '../../protocol/extension.ts';
import { LiveSeam, recover } from './replay.ts';

export interface StreamGapsHost {
  readonly history: HistoryStore;
  /** True while the topic has local subscribers. */
  hasSubscribers(topic: string): boolean;
  /** Delivers recovered history entries to the topic's local subscribers, as broadcasts with their positions. */
  deliverEntries(topic: string, entries: readonly HistoryEntry[], epoch: string): void;
  /** Delivers a live message that was held while the history was read. */
  deliverHeld(message: BrokerMessage): void;
  /** The hole cannot be filled: every local subscriber must rejoin. */
  resync(topic: string, reason: RecoveryLostReason | 'unknown_position' | 'overflow'): void;
  onError(error: Error): void;
}

interface TopicStream {
  /** The position of the last message delivered on this node, once one was. */
  last: StreamPosition | undefined;
  /** Set while the history is being read: live messages wait in it. */
  seam: LiveSeam<BrokerMessage> | null;
  /** Another gap was reported while a read was in flight: read again from where it ends. */
  again: boolean;
}

const positionOf = (message: BrokerMessage): StreamPosition | undefined => message.position;

export class StreamGaps {
  readonly #host: StreamGapsHost;
  readonly #streams = new Map<string, TopicStream>();

  constructor(host: StreamGapsHost) {
    this.#host = host;
  }

  /**
   * Called for every positioned message before local delivery. True: deliver it now. False: a read is in
   * flight and holds it (or the replay already covered it).
   *
   * A skipped offset on the live stream is delivered as it is: opted-in clients see it and rejoin from their
   * own position (docs/recovery.md); the node only re-reads on the broker's word.
   */
  admit(message: BrokerMessage): boolean {
    const stream = this.#streams.get(message.topic);
    if (stream === undefined) {
      this.#streams.set(message.topic, { last: message.position, seam: null, again: false });
      return true;
    }
    if (stream.seam !== null) return stream.seam.admit(message);
    stream.last = message.position;
    return true;
  }

  /** The broker reports that messages on these topics may have been missed. */
  gap(topics: readonly string[]): void {
    for (const topic of topics) {
      if (!this.#host.hasSubscribers(topic)) continue;
      const stream = this.#streams.get(topic);
      if (stream?.seam != null) stream.again = true;
      else if (stream?.last !== undefined) this.#read(topic, stream, stream.last);
      // Nothing delivered here since the topic was subscribed: no position to read from, so the clients
      // (who know theirs) rejoin.
      else this.#host.resync(topic, 'unknown_position');
    }
  }

  /** The topic has no local subscriber any more. */
  forget(topic: string): void {
    this.#streams.delete(topic);
  }

  #read(topic: string, stream: TopicStream, since: StreamPosition): void {
    const seam = new LiveSeam<BrokerMessage>(positionOf);
    stream.seam = seam;
    stream.again = false;
    void recover(this.#host.history, topic, since, this.#host.onError).then((outcome) => {
      if (this.#streams.get(topic) !== stream) return;
      stream.seam = null;
      if (outcome.kind !== 'recovered') {
        stream.last = undefined;
        this.#host.resync(topic, outcome.kind === 'lost' ? outcome.reason : 'unknown_position');
        return;
      }
      const held = seam.open(outcome.position);
      if (held === null) {
        stream.last = undefined;
        this.#host.resync(topic, 'overflow');
        return;
      }
      if (outcome.entries.length > 0) this.#host.deliverEntries(topic, outcome.entries, outcome.position.epoch);
      let last = outcome.position;
      for (const message of held) {
        last = message.position ?? last;
        this.#host.deliverHeld(message);
      }
      stream.last = last;
      if (stream.again) this.#read(topic, stream, last);
    });
  }
}
