/**
 * A bounded overview of task queues for an operator's view (the dashboard's Tasks view): each queue's counters,
 * the running tasks and the latest failures, read from the snapshot store, so with a RedisSnapshotStore every
 * node shows the whole cluster's tasks. Only the `scan` most recently updated tasks of each queue are looked at.
 */
import type { QueueStatus, TaskSnapshot } from '../types.ts';
import type { SnapshotStore } from './snapshots.ts';

export interface TaskOverviewOptions {
  /** Running tasks (status active or progress) listed at most, newest first. Default 20. */
  maxRunning?: number;
  /** Failed tasks listed at most, newest first. Default 20. */
  maxFailures?: number;
  /** Most recently updated tasks read per queue at each look. Default 200. */
  scan?: number;
}

export const OVERVIEW_DEFAULTS = { maxRunning: 20, maxFailures: 20, scan: 200 } as const;

export interface TaskOverview {
  queues: QueueStatus[];
  running: TaskSnapshot[];
  failures: TaskSnapshot[];
}

const zero = (queue: string): QueueStatus => ({ queue, total_tasks: 0, pending_tasks: 0, running_tasks: 0, completed_tasks: 0, failed_tasks: 0 });

/** One look at `queues` in `store`. Rejects when the store does. */
export async function taskOverview(store: SnapshotStore, queues: readonly string[], options: TaskOverviewOptions = {}): Promise<TaskOverview> {
  const { maxRunning, maxFailures, scan } = { ...OVERVIEW_DEFAULTS, ...options };
  const looks = await Promise.all(queues.map(async (queue) => ({ queue, status: await store.getStatus(queue), tasks: await store.recentTasks(queue, scan) })));
  const running: TaskSnapshot[] = [];
  const failures: TaskSnapshot[] = [];
  for (const { tasks } of looks) {
    for (const task of tasks) {
      if (task.status === 'active' || task.status === 'progress') running.push(task);
      else if (task.status === 'failed') failures.push(task);
    }
  }
  const newestFirst = (a: TaskSnapshot, b: TaskSnapshot) => b.timestamp - a.timestamp;
  return {
    queues: looks.map(({ queue, status }) => status ?? zero(queue)),
    running: running.sort(newestFirst).slice(0, maxRunning),
    failures: failures.sort(newestFirst).slice(0, maxFailures),
  };
}
