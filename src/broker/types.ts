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

/** Why an inbox refused a message or a request failed (`InboxError.code`). */
export type InboxErrorCode =
  /** The data (or, from the answering node, the answer) is over `maxMessageBytes`. */
  | 'too_large'
  /** `maxPendingRequests` reached: on this node (requests waiting for an answer) or the answering one (handlers running). */
  | 'busy'
  /** The broker is not started, or closed. */
  | 'not_running'
  /** The answering node's handler threw (the error is reported there, as its broker's `error` event). */
  | 'failed';

/** What an inbox handler learns besides the data. */
export interface InboxContext {
  /** The node that sent it. */
  from: string;
  /** Aborted when the requester stops waiting (its timeout passed) or this broker closes; the answer is then dropped. */
  signal: AbortSignal;
}

export type InboxListener = (data: string, from: string) => void;
export type InboxHandler = (data: string, context: InboxContext) => Promise<string>;

/**
 * A per-node inbox: messages addressed to one node by its id, for features that must reach the node owning some
 * state (the long-poll relay is the first). `kind` names the feature; `data` is a string (JSON text for
 * structures) of at most `maxMessageBytes` bytes. Delivery is at most once, like pub/sub: a node that is down,
 * or whose pub/sub connection is reconnecting, misses what is sent meanwhile; nothing is queued or retried.
 */
export interface NodeInbox {
  /** Largest `data` (UTF-8 bytes) this inbox sends or accepts, answers included. */
  readonly maxMessageBytes: number;
  /**
   * Fire and forget. Resolves true once some node listening under `node` took it (not that a listener ran),
   * false when none listens under that id. Rejects with an `InboxError` (`too_large`, `not_running`) or the
   * transport's error (Redis unreachable).
   */
  send(node: string, kind: string, data: string): Promise<boolean>;
  /** Listens for `send`s of `kind` to this node; returns the function that stops listening. */
  on(kind: string, listener: InboxListener): () => void;
  /**
   * Asks `node` and waits up to `timeoutMs` for its handler's answer. Resolves the answer, or null when there is
   * none: no node listens under that id, it has no handler for `kind`, no answer came in time (a dead or
   * unreachable node), the transport failed, or this broker closed meanwhile. Rejects with an `InboxError`
   * when refused (`too_large`, `busy`, `not_running`, here or on the answering node) or when the handler threw
   * (`failed`).
   */
  request(node: string, kind: string, data: string, timeoutMs: number): Promise<string | null>;
  /** Answers requests of `kind` to this node (one handler per kind); returns the function that stops it. */
  handle(kind: string, handler: InboxHandler): () => void;
}

export interface Broker {
  readonly nodeId: string;
  readonly history: HistoryStore;
  /** Messages and requests addressed to one node (this node's inbox, and a way to reach the others'). */
  readonly inbox: NodeInbox;
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
