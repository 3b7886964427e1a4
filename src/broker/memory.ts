import { randomUUID } from 'node:crypto';
import { BrokerEmitter } from './emitter.ts';
import { MemoryHistoryStore, type MemoryHistoryOptions } from './history-memory.ts';
import { Inbox, type InboxEnvelope } from './inbox.ts';
import { systemTimers, type BrokerTimers } from './timers.ts';
import type { Broker, BrokerMessage, HistoryPolicy, PresenceChange } from './types.ts';

export interface MemoryBrokerOptions {
  /** This node's id, stamped on every message as `origin`; default a random `node-…` id. */
  nodeId?: string;
  /** Bounds of the built-in history store (count, bytes, topics, idleness) and an injectable clock. */
  history?: Omit<MemoryHistoryOptions, 'hasSubscribers'>;
  /** Period of the history sweep that expires old entries and drops idle topics; default 5000 ms. */
  historySweepMs?: number;
  /** Timer functions for the sweep and inbox timeouts; default the global ones (the sweep is unref'd: it never keeps a process alive). */
  timers?: BrokerTimers;
  /** Largest data of one inbox message, request or answer (UTF-8 bytes); default 16 MiB. */
  inboxMaxMessageBytes?: number;
  /** Inbox requests waited on at once, and answered at once (each); over it a request is refused `busy`. Default 10000. */
  inboxMaxPendingRequests?: number;
}

const DEFAULT_HISTORY_SWEEP_MS = 5000;

export function randomNodeId(): string {
  return `node-${randomUUID().slice(0, 8)}`;
}

/**
 * The single-process broker: `publish` delivers to this node's own `message` listeners synchronously, in
 * publish order, and returns an already-settled promise, so the broadcast path costs one object per message.
 * Subscriptions are a set (idempotent, not reference-counted): a topic's messages and presence changes are
 * delivered while it is subscribed. Its inbox reaches this node only: a request to any other node id answers null.
 */
export class MemoryBroker extends BrokerEmitter implements Broker {
  readonly nodeId: string;
  readonly history: MemoryHistoryStore;
  readonly inbox: Inbox;
  readonly #subscribed = new Set<string>();
  readonly #timers: BrokerTimers;
  readonly #sweepMs: number;
  #sweepTimer: unknown = null;
  #running = false;
  #delivering = false;
  /** Messages published by a listener during delivery wait here so every listener sees publish order. */
  readonly #queued: BrokerMessage[] = [];

  constructor(options: MemoryBrokerOptions = {}) {
    super();
    this.nodeId = options.nodeId ?? randomNodeId();
    this.history = new MemoryHistoryStore({ ...options.history, hasSubscribers: (topic) => this.#subscribed.has(topic) });
    this.#timers = options.timers ?? systemTimers;
    this.#sweepMs = options.historySweepMs ?? DEFAULT_HISTORY_SWEEP_MS;
    this.inbox = new Inbox(
      {
        nodeId: this.nodeId,
        timers: this.#timers,
        isRunning: () => this.#running,
        deliver: (envelope) => Promise.resolve(this.#loopBack(envelope)),
        onError: (error) => this.emit('error', error),
      },
      { maxMessageBytes: options.inboxMaxMessageBytes, maxPendingRequests: options.inboxMaxPendingRequests },
    );
  }

  start(): Promise<void> {
    if (!this.#running) {
      this.#running = true;
      this.#sweepTimer = this.#timers.setInterval(() => this.history.sweep(), this.#sweepMs);
      (this.#sweepTimer as { unref?: () => void } | null)?.unref?.();
      this.emit('ready');
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#running = false;
    this.inbox.close();
    this.#subscribed.clear();
    if (this.#sweepTimer !== null) this.#timers.clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
    return Promise.resolve();
  }

  isReady(): boolean {
    return this.#running;
  }

  publish(message: Omit<BrokerMessage, 'origin' | 'position'>, history?: HistoryPolicy): Promise<BrokerMessage> {
    const { payload } = message;
    // Encoded once: the history stores this text and fan-out frames it.
    const payloadJson = history !== undefined && !(payload instanceof Uint8Array) ? JSON.stringify(payload) : undefined;
    const published: BrokerMessage = {
      topic: message.topic,
      event: message.event,
      payload,
      origin: this.nodeId,
      exclude: message.exclude,
      position: history ? this.history.appendNow(message.topic, message.event, payload, history, payloadJson) : undefined,
      payloadJson,
    };
    if (this.#subscribed.has(published.topic)) this.#deliver(published);
    return Promise.resolve(published);
  }

  subscribe(topics: string[]): Promise<void> {
    for (const topic of topics) this.#subscribed.add(topic);
    return Promise.resolve();
  }

  unsubscribe(topics: string[]): Promise<void> {
    for (const topic of topics) if (this.#subscribed.delete(topic)) this.history.touch(topic);
    return Promise.resolve();
  }

  /** Loops the change back as a `presence` event when this node subscribes to the topic, as Redis would. */
  publishPresence(change: Omit<PresenceChange, 'node'>): Promise<void> {
    if (this.#subscribed.has(change.topic)) {
      this.emit('presence', { topic: change.topic, key: change.key, kind: change.kind, meta: change.meta, node: this.nodeId });
    }
    return Promise.resolve();
  }

  /** In a later turn, as a network would: a handler that sends to its own node never re-enters itself. */
  #loopBack(envelope: InboxEnvelope): boolean {
    if (envelope.to !== this.nodeId) return false;
    setImmediate(() => {
      if (this.#running) this.inbox.receive(envelope);
    });
    return true;
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
