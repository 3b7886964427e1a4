/**
 * The scale-out seam. A server node publishes broadcasts and presence changes through a Broker and receives
 * what every node (itself included) published on the topics it subscribes to. `memory` is the embedded
 * single-process default; `redis` spreads one logical server over many processes and machines.
 *
 * Every method that crosses a network is async; delivery order per topic is publish order.
 */
import type { RecoveryLostReason, StreamPosition } from '../protocol/extension.ts';
import type { Payload } from '../protocol/frame.ts';

/** A position in a topic's history stream (wire data: its type lives with the extension's codec). */
export type { StreamPosition };

/** Retention for a history-enabled topic: at least one of the two limits. */
export interface HistoryPolicy {
  maxMessages?: number;
  ttlMs?: number;
}

export interface BrokerMessage {
  topic: string;
  event: string;
  payload: Payload;
  /** The node that published it. */
  origin: string;
  /** A connection id on the origin node that must not receive it (`broadcastFrom`). */
  exclude?: string;
  /** Set when the topic keeps history: the message's place in the stream. */
  position?: StreamPosition;
  /**
   * `JSON.stringify(payload)`, when the broker already made it (the memory broker does for history): fan-out
   * frames this text instead of encoding the payload again. @internal
   */
  payloadJson?: string;
}

export interface HistoryEntry {
  offset: number;
  event: string;
  payload: Payload;
}

export type RecoveryResult =
  | { recovered: true; entries: HistoryEntry[]; position: StreamPosition }
  | { recovered: false; reason: RecoveryLostReason; position: StreamPosition };

export interface HistoryStore {
  /** Appends and returns the new entry's position; offsets increase by one within an epoch. */
  append(topic: string, event: string, payload: Payload, policy: HistoryPolicy): Promise<StreamPosition>;
  /** Everything after `since`, in order, or a plain statement that the gap cannot be filled. */
  range(topic: string, since: StreamPosition): Promise<RecoveryResult>;
  /** The latest position (offset 0 and a fresh epoch for a topic with no history yet). */
  position(topic: string): Promise<StreamPosition>;
}

/** A presence change replicated between nodes; `ref` is the meta's `phx_ref`. */
export interface PresenceChange {
  topic: string;
  key: string;
  node: string;
  kind: 'join' | 'leave';
  meta: Record<string, unknown> & { phx_ref: string };
}

export interface BrokerEvents {
  message: (message: BrokerMessage) => void;
  presence: (change: PresenceChange) => void;
  /** Messages on these topics may have been missed (e.g. the broker connection dropped and came back). */
  gap: (topics: string[]) => void;
  /** A node stopped heartbeating; its presences must be announced as leaves. */
  nodeDown: (node: string) => void;
  /** Connected or reconnected and subscriptions restored. */
  ready: () => void;
  error: (error: Error) => void;
}

/** What a push handler produced, as stored for de-duplication. */
export type DedupOutcome =
  | { kind: 'reply'; status: string; response: Payload }
  | { kind: 'noreply' }
  /** The handler threw; a resend is answered with an error reply `{reason: "channel_crash"}`. */
  | { kind: 'crash' };

export type DedupClaim =
  /** First sight: the caller owns the run and must `complete` it. */
  | { state: 'new' }
  /** Another caller (possibly on another node) claimed it and has not completed yet. */
  | { state: 'running' }
  | { state: 'done'; outcome: DedupOutcome };

/** Effectively-once push ids shared by every node of a broker: one record per (scope, id), kept `ttlMs`. */
export interface DedupStore {
  claim(scope: string, id: string, ttlMs: number): Promise<DedupClaim>;
  /** Records the outcome of a claimed run, replacing the claim; kept for `ttlMs` from now. */
  complete(scope: string, id: string, outcome: DedupOutcome, ttlMs: number): Promise<void>;
  /** Drops a claim that will not be completed, so the next claim is `new`. */
  release(scope: string, id: string): Promise<void>;
}

export interface Broker {
  readonly nodeId: string;
  readonly history: HistoryStore;
  /** Push de-duplication records shared across nodes; absent when the broker has none (one process). */
  readonly dedup?: DedupStore;
  start(): Promise<void>;
  close(): Promise<void>;
  /** True while connected and able to publish. */
  isReady(): boolean;
  /** Publishes to every subscriber on every node; with a history policy the message is appended first. */
  publish(message: Omit<BrokerMessage, 'origin' | 'position'>, history?: HistoryPolicy): Promise<BrokerMessage>;
  subscribe(topics: string[]): Promise<void>;
  unsubscribe(topics: string[]): Promise<void>;
  publishPresence(change: Omit<PresenceChange, 'node'>): Promise<void>;
  on<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this;
  off<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this;
}
