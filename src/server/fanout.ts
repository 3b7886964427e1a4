/**
 * Local fan-out: which channels on this node subscribe to which topic, and delivery of one broadcast to all of
 * them. A broadcast is encoded at most once per wire format (V1 JSON, V2 JSON, V2 binary) and the resulting
 * SharedFrame object is handed to every subscriber, so the per-subscriber cost is a lookup and a write.
 */
import { encodeBinary } from '../protocol/codec-binary.ts';
import { encodeV1JsonRaw, encodeV2JsonRaw } from '../protocol/codec-json.ts';
import { encodePositionedBroadcast, type StreamPosition } from '../protocol/extension.ts';
import type { Payload } from '../protocol/frame.ts';
import type { Broker, BrokerMessage } from '../broker/types.ts';
import { StreamGaps } from './recovery/stream-gaps.ts';
import type { ObserverSet } from './observer.ts';
import { sharedFrame, type SharedFrame } from './transport.ts';

/** What fan-out needs from a joined channel. */
export interface Subscriber {
  readonly topic: string;
  readonly connectionId: string;
  readonly vsn: 1 | 2;
  /** Gets broadcasts with their stream position in the V2 meta element (opted in, docs/recovery.md). */
  readonly positioned?: boolean;
  /** Events this subscriber's channel intercepts, or null when it intercepts none. */
  readonly intercepts: ReadonlySet<string> | null;
  sendShared(frame: SharedFrame): void;
  handleOut(event: string, payload: Payload): void;
  /** Messages this subscriber should have had are lost for good: make the client rejoin (phx_error). */
  resync(): void;
}

/** A broadcast frame that carries its stream position in the V2 meta element (a replay's seam reads it). */
export interface PositionedFrame extends SharedFrame {
  readonly position: StreamPosition;
}

/** The per-format encodings of one broadcast, each built on first use. */
export class EncodedBroadcast {
  readonly topic: string;
  readonly event: string;
  readonly payload: Payload;
  /** Set on history-enabled topics. */
  readonly position: StreamPosition | undefined;
  #json: string | undefined;
  #v1: SharedFrame | null | undefined;
  #v2: SharedFrame | undefined;
  #v2Positioned: PositionedFrame | undefined;

  /** `payloadJson`: `JSON.stringify(payload)` when the broker already made it (BrokerMessage.payloadJson). */
  constructor(topic: string, event: string, payload: Payload, position?: StreamPosition, payloadJson?: string) {
    this.topic = topic;
    this.event = event;
    this.payload = payload;
    this.position = position;
    this.#json = payloadJson;
  }

  /** Null when the format cannot carry the payload (binary over V1). */
  v1(): SharedFrame | null {
    if (this.#v1 !== undefined) return this.#v1;
    if (this.payload instanceof Uint8Array) return (this.#v1 = null);
    return (this.#v1 = sharedFrame(encodeV1JsonRaw({ joinRef: null, ref: null, topic: this.topic, event: this.event }, this.#payloadJson(), 'server->client')));
  }

  v2(): SharedFrame {
    if (this.#v2 !== undefined) return this.#v2;
    const data =
      this.payload instanceof Uint8Array
        ? encodeBinary({ joinRef: null, ref: null, topic: this.topic, event: this.event, payload: this.payload }, 'server->client')
        : encodeV2JsonRaw(null, null, this.topic, this.event, this.#payloadJson());
    return (this.#v2 = sharedFrame(data));
  }

  /** V2 JSON with the position meta; falls back to `v2()` when the message has no position. */
  v2Positioned(): SharedFrame {
    const position = this.position;
    if (position === undefined || this.payload instanceof Uint8Array) return this.v2();
    this.#v2Positioned ??= Object.assign(sharedFrame(encodePositionedBroadcast(this.topic, this.event, this.#payloadJson(), position)), { position });
    return this.#v2Positioned;
  }

  #payloadJson(): string {
    return (this.#json ??= JSON.stringify(this.payload));
  }
}

export class Fanout {
  readonly #topics = new Map<string, Set<Subscriber>>();
  /** Broker subscriptions still in flight, so every early joiner waits for the same one. */
  readonly #subscribing = new Map<string, Promise<void>>();
  readonly #broker: Broker;
  readonly #observers: ObserverSet;
  readonly #onTopicEmpty: (topic: string) => void;
  readonly #gaps: StreamGaps;

  constructor(broker: Broker, observers: ObserverSet, onTopicEmpty: (topic: string) => void) {
    this.#broker = broker;
    this.#observers = observers;
    this.#onTopicEmpty = onTopicEmpty;
    this.#gaps = new StreamGaps({
      history: broker.history,
      hasSubscribers: (topic) => this.#topics.has(topic),
      deliverEntries: (topic, entries, epoch) => {
        for (const entry of entries) {
          const subs = this.#topics.get(topic);
          if (subs === undefined) return;
          this.deliverLocal(subs, new EncodedBroadcast(topic, entry.event, entry.payload, { epoch, offset: entry.offset }), undefined);
        }
      },
      deliverHeld: (message) => this.#deliverNow(message),
      resync: (topic, reason) => {
        const subs = this.#topics.get(topic);
        if (subs === undefined) return;
        observers.hooks.error?.(new Error(`${topic}: messages missed by this node cannot be recovered (${reason}); ${subs.size} subscriber(s) told to rejoin`), 'broker gap');
        for (const sub of [...subs]) sub.resync();
      },
      onError: (err) => observers.hooks.error?.(err, 'broker gap: history read'),
    });
  }

  /** History-enabled topics whose messages the broker may have dropped: recovered from the history, or resynced. */
  recoverGap(topics: readonly string[]): void {
    this.#gaps.gap(topics);
  }

  /**
   * Adds the subscriber at once (local broadcasts reach it immediately). Returns the broker's subscribe
   * promise while the topic's broker subscription is in flight, so the join reply can wait until remote
   * broadcasts flow too; null once it is live.
   */
  subscribe(sub: Subscriber): Promise<void> | null {
    const subs = this.#topics.get(sub.topic);
    if (subs) {
      subs.add(sub);
      return this.#subscribing.get(sub.topic) ?? null;
    }
    this.#topics.set(sub.topic, new Set([sub]));
    const topic = sub.topic;
    const subscribed = this.#broker.subscribe([topic]).finally(() => {
      if (this.#subscribing.get(topic) === subscribed) this.#subscribing.delete(topic);
    });
    this.#subscribing.set(topic, subscribed);
    return subscribed;
  }

  unsubscribe(sub: Subscriber): void {
    const subs = this.#topics.get(sub.topic);
    if (!subs || !subs.delete(sub) || subs.size > 0) return;
    this.#topics.delete(sub.topic);
    this.#broker.unsubscribe([sub.topic]).catch((err: Error) => this.#observers.hooks.error?.(err, `broker.unsubscribe ${sub.topic}`));
    this.#gaps.forget(sub.topic);
    this.#onTopicEmpty(sub.topic);
  }

  /** Delivers a message from the broker to this node's subscribers (skipping `exclude` if it came from here). */
  readonly deliver = (message: BrokerMessage): void => {
    const subs = this.#topics.get(message.topic);
    if (subs === undefined) return;
    // A positioned message goes through the gap check: held while this node re-reads a hole in the stream.
    if (message.position !== undefined && !this.#gaps.admit(message)) return;
    this.#deliverTo(subs, message);
  };

  #deliverNow(message: BrokerMessage): void {
    const subs = this.#topics.get(message.topic);
    if (subs !== undefined) this.#deliverTo(subs, message);
  }

  #deliverTo(subs: Set<Subscriber>, message: BrokerMessage): void {
    const exclude = message.origin === this.#broker.nodeId ? message.exclude : undefined;
    this.deliverLocal(subs, new EncodedBroadcast(message.topic, message.event, message.payload, message.position, message.payloadJson), exclude);
  }

  /** Delivers to this node only (presence diffs, which every node computes for itself). */
  deliverToTopic(topic: string, event: string, payload: Payload): void {
    const subs = this.#topics.get(topic);
    if (subs !== undefined) this.deliverLocal(subs, new EncodedBroadcast(topic, event, payload), undefined);
  }

  deliverLocal(subs: Set<Subscriber>, out: EncodedBroadcast, exclude: string | undefined): void {
    const event = out.event;
    let v1Count = 0;
    let v2Count = 0;
    /** Opted-in subscribers get the positioned encoding (a few bytes longer); counted apart. */
    let positionedCount = 0;
    let skipped = 0;
    let intercepted = 0;
    for (const sub of subs) {
      if (sub.connectionId === exclude) continue;
      if (sub.intercepts !== null && sub.intercepts.has(event)) {
        sub.handleOut(event, out.payload);
        intercepted++;
      } else if (sub.vsn === 2) {
        if (sub.positioned) {
          sub.sendShared(out.v2Positioned());
          positionedCount++;
        } else {
          sub.sendShared(out.v2());
          v2Count++;
        }
      } else {
        const frame = out.v1();
        if (frame === null) {
          skipped++;
          continue;
        }
        sub.sendShared(frame);
        v1Count++;
      }
    }
    const hooks = this.#observers.hooks;
    const frames = v1Count + v2Count + positionedCount;
    if (hooks.broadcast) hooks.broadcast({ topic: out.topic, event, recipients: frames + intercepted });
    if (hooks.frameOut && frames > 0) {
      const bytes =
        (v1Count > 0 ? v1Count * out.v1()!.byteLength : 0) +
        (v2Count > 0 ? v2Count * out.v2().byteLength : 0) +
        (positionedCount > 0 ? positionedCount * out.v2Positioned().byteLength : 0);
      hooks.frameOut(bytes, frames);
    }
    if (skipped > 0) {
      hooks.error?.(
        new Error(`binary broadcast "${event}" on ${out.topic} cannot reach ${skipped} V1 (vsn 1.0.0) connection(s)`),
        'broadcast',
      );
    }
  }

  has(topic: string): boolean {
    return this.#topics.has(topic);
  }

  /** Topic -> number of local subscribers. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [topic, subs] of this.#topics) out.set(topic, subs.size);
    return out;
  }
}
