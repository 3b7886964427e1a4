/**
 * Where the latest state of each task (and each queue's counters) is kept, so a late or rejoining watcher starts
 * from the truth: in memory for one node, in Redis (snapshots-redis.ts) for many. Bounded by tasks per queue and
 * by age; the oldest task of a full queue, or any task older than the TTL, is forgotten.
 */
import type { QueueStatus, TaskSnapshot } from '../types.ts';

export interface SnapshotStore {
  putTask(snapshot: TaskSnapshot): Promise<void>;
  getTask(queue: string, taskId: string): Promise<TaskSnapshot | null>;
  /** The most recently updated tasks of a queue, newest first. */
  recentTasks(queue: string, limit: number): Promise<TaskSnapshot[]>;
  putStatus(status: QueueStatus): Promise<void>;
  getStatus(queue: string): Promise<QueueStatus | null>;
  close(): Promise<void>;
}

export interface SnapshotLimits {
  /** Tasks kept per queue, most recently updated first. Default 1000. */
  maxTasksPerQueue?: number;
  /** A task not updated for this long is forgotten (and a queue's counters). Default 3600000 (1 h). */
  ttlMs?: number;
  /** Queues kept at once (memory store); past it the least recently updated queue goes. Default 1000. */
  maxQueues?: number;
}

import { SNAPSHOT_DEFAULTS } from '../defaults.ts';

export { SNAPSHOT_DEFAULTS };

interface Kept<T> {
  value: T;
  at: number;
}

interface QueueEntry {
  /** Insertion order is update order: a put deletes and re-inserts. */
  tasks: Map<string, Kept<TaskSnapshot>>;
  status: Kept<QueueStatus> | null;
}

export class MemorySnapshotStore implements SnapshotStore {
  readonly #queues = new Map<string, QueueEntry>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #maxQueues: number;
  readonly #now: () => number;

  constructor(options: SnapshotLimits & { now?: () => number } = {}) {
    this.#max = options.maxTasksPerQueue ?? SNAPSHOT_DEFAULTS.maxTasksPerQueue;
    this.#ttl = options.ttlMs ?? SNAPSHOT_DEFAULTS.ttlMs;
    this.#maxQueues = options.maxQueues ?? SNAPSHOT_DEFAULTS.maxQueues;
    this.#now = options.now ?? Date.now;
  }

  #queue(name: string): QueueEntry {
    let entry = this.#queues.get(name);
    if (entry) {
      this.#queues.delete(name);
    } else {
      entry = { tasks: new Map(), status: null };
      if (this.#queues.size >= this.#maxQueues) this.#queues.delete(this.#queues.keys().next().value!);
    }
    this.#queues.set(name, entry);
    return entry;
  }

  async putTask(snapshot: TaskSnapshot): Promise<void> {
    const now = this.#now();
    const tasks = this.#queue(snapshot.queue).tasks;
    tasks.delete(snapshot.task_id);
    tasks.set(snapshot.task_id, { value: snapshot, at: now });
    for (const [id, kept] of tasks) {
      if (tasks.size <= this.#max && now - kept.at < this.#ttl) break;
      tasks.delete(id);
    }
  }

  async getTask(queue: string, taskId: string): Promise<TaskSnapshot | null> {
    const kept = this.#queues.get(queue)?.tasks.get(taskId);
    return kept !== undefined && this.#fresh(kept) ? kept.value : null;
  }

  async recentTasks(queue: string, limit: number): Promise<TaskSnapshot[]> {
    const tasks = this.#queues.get(queue)?.tasks;
    if (!tasks) return [];
    const out: TaskSnapshot[] = [];
    for (const kept of [...tasks.values()].reverse()) {
      if (out.length >= limit || !this.#fresh(kept)) break;
      out.push(kept.value);
    }
    return out;
  }

  async putStatus(status: QueueStatus): Promise<void> {
    this.#queue(status.queue).status = { value: status, at: this.#now() };
  }

  async getStatus(queue: string): Promise<QueueStatus | null> {
    const kept = this.#queues.get(queue)?.status;
    return kept && this.#fresh(kept) ? kept.value : null;
  }

  async close(): Promise<void> {
    this.#queues.clear();
  }

  #fresh(kept: Kept<unknown>): boolean {
    return this.#now() - kept.at < this.#ttl;
  }
}
