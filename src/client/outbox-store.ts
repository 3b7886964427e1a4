/**
 * Where outbox messages live until they settle. The memory store is the default; `outbox-sqlite.ts` (Node) and
 * `outbox-indexeddb.ts` (browsers) keep messages across a crash or a page reload. A store only persists: the
 * Outbox keeps order, bounds and timers.
 */

export interface StoredMessage {
  /** Stable message id (also sent as `meta.id`). */
  id: string;
  /** Acceptance order; a restarted client resends in this order. */
  seq: number;
  topic: string;
  event: string;
  /** JSON text of a JSON payload, or the bytes of a binary one. */
  body: string | Uint8Array;
  createdAt: number;
  expiresAt: number | null;
  timeoutMs: number;
}

export interface OutboxStore {
  /** Every message still stored, in `seq` order. Called once, before the outbox accepts or sends anything. */
  load(): StoredMessage[] | Promise<StoredMessage[]>;
  /** Must be durable when it returns (or when its promise resolves). */
  put(message: StoredMessage): void | Promise<void>;
  delete(id: string): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Keeps nothing: messages live in the Outbox's own queues and die with the process. */
export class MemoryOutboxStore implements OutboxStore {
  load(): StoredMessage[] {
    return [];
  }
  put(): void {}
  delete(): void {}
}
