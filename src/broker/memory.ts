import { randomUUID } from 'node:crypto';
import { BrokerEmitter } from './emitter.ts';
import { MemoryHistoryStore, type MemoryHistoryOptions } from './history-memory.ts';
import type { Broker, BrokerMessage, HistoryPolicy, PresenceChange } from './types.ts';

export interface MemoryBrokerOptions {
  /** This node's id, stamped on every message as `origin`; default a random `node-…` id. */
  nodeId?: string;
  /** Options of the built-in history store (an injectable clock for TTL). */
  history?: MemoryHistoryOptions;
}

export function randomNodeId(): string {
  return `node-${randomUUID().slice(0, 8)}`;
}

/**
 * The single-process broker: `publish` delivers to this node's own `message` listeners synchronously, in
 * publish order, and returns an already-settled promise, so the broadcast path costs one object per message.
 * Subscriptions are a set (idempotent, not reference-counted): a topic's messages and presence changes are
 * delivered while it is subscribed.
 */
export class MemoryBroker extends BrokerEmitter implements Broker {
  readonly nodeId: string;
  readonly history: MemoryHistoryStore;
  readonly #subscribed = new Set<string>();
  #running = false;
  #delivering = false;
  /** Messages published by a listener during delivery wait here so every listener sees publish order. */
  readonly #queued: BrokerMessage[] = [];

  constructor(options: MemoryBrokerOptions = {}) {
    super();
    this.nodeId = options.nodeId ?? randomNodeId();
    this.history = new MemoryHistoryStore(options.history);
  }

  start(): Promise<void> {
    if (!this.#running) {
      this.#running = true;
      this.emit('ready');
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#running = false;
    this.#subscribed.clear();
    return Promise.resolve();
  }

  isReady(): boolean {
    return this.#running;
  }

  publish(message: Omit<BrokerMessage, 'origin' | 'position'>, history?: HistoryPolicy): Promise<BrokerMessage> {
    const published: BrokerMessage = {
      topic: message.topic,
      event: message.event,
      payload: message.payload,
      origin: this.nodeId,
      exclude: message.exclude,
      position: history
        ? this.history.appendNow(message.topic, message.event, message.payload, history)
        : undefined,
    };
    if (this.#subscribed.has(published.topic)) this.#deliver(published);
    return Promise.resolve(published);
  }

  subscribe(topics: string[]): Promise<void> {
    for (const topic of topics) this.#subscribed.add(topic);
    return Promise.resolve();
  }

  unsubscribe(topics: string[]): Promise<void> {
    for (const topic of topics) this.#subscribed.delete(topic);
    return Promise.resolve();
  }

  /** Loops the change back as a `presence` event when this node subscribes to the topic, as Redis would. */
  publishPresence(change: Omit<PresenceChange, 'node'>): Promise<void> {
    if (this.#subscribed.has(change.topic)) {
      this.emit('presence', { topic: change.topic, key: change.key, kind: change.kind, meta: change.meta, node: this.nodeId });
    }
    return Promise.resolve();
  }

  #deliver(message: BrokerMessage): void {
    if (this.#delivering) {
      this.#queued.push(message);
      return;
    }
    this.#delivering = true;
    try {
      this.emit('message', message);
      for (let i = 0; i < this.#queued.length; i++) {
        const next = this.#queued[i];
        if (this.#subscribed.has(next.topic)) this.emit('message', next);
      }
    } finally {
      this.#delivering = false;
      this.#queued.length = 0;
    }
  }
}
