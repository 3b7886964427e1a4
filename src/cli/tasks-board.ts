/**
 * What `tether tasks watch` shows, as pure state: running tasks with progress bars, the queue's counters, recent
 * notifications and the link. Bounded: at most `maxTasks` tasks tracked (the oldest update goes first) and the
 * last 5 notifications.
 */
import type { Notification, QueueStatus, TaskUpdate } from '../tasks/types.ts';

export class TaskBoard {
  readonly #tasks = new Map<string, TaskUpdate>();
  readonly #notes: string[] = [];
  readonly #maxTasks: number;
  counters: QueueStatus | null = null;
  link = 'connecting';

  constructor(maxTasks = 1000) {
    this.#maxTasks = maxTasks;
  }

  /** Applies one event; returns the line a plain (non-terminal) output prints for it, or null. */
  apply(event: string, payload: unknown): string | null {
    if (event === 'queue_status_changed' || event === 'snapshot') {
      this.counters = payload as QueueStatus;
      return null;
    }
    if (event === 'system_notification' || event === 'user_notification') {
      const n = payload as Notification;
      const line = `[${n.level}] ${n.title}: ${n.message}`;
      this.#notes.push(line);
      if (this.#notes.length > 5) this.#notes.shift();
      return line;
    }
    const task = payload as TaskUpdate;
    const key = `${task.queue}:${task.task_id}`;
    if (event === 'task_completed' || event === 'task_failed') {
      this.#tasks.delete(key);
      return `${task.queue}/${task.task_id} ${task.status}${task.progress === undefined ? '' : ` at ${task.progress}%`}${task.message ? `: ${task.message}` : ''}`;
    }
    const previous = this.#tasks.get(key);
    this.#tasks.delete(key);
    this.#tasks.set(key, { ...task, progress: task.progress ?? previous?.progress });
    if (this.#tasks.size > this.#maxTasks) this.#tasks.delete(this.#tasks.keys().next().value!);
    return event === 'task_created' ? `${task.queue}/${task.task_id} created` : null;
  }

  render(width = 80, rows = 20): string[] {
    const c = this.counters;
    const lines = [`link: ${this.link}`];
    if (c) lines.push(`${c.queue}: ${c.total_tasks} total, ${c.pending_tasks} pending, ${c.running_tasks} running, ${c.completed_tasks} completed, ${c.failed_tasks} failed`);
    const running = [...this.#tasks.values()].filter((t) => t.status === 'active' || t.status === 'progress').reverse();
    const barWidth = Math.max(10, Math.min(40, width - 40));
    for (const t of running.slice(0, rows)) {
      const p = Math.round(t.progress ?? 0);
      const filled = Math.round((p / 100) * barWidth);
      lines.push(`${`${t.queue}/${t.task_id}`.slice(0, 28).padEnd(28)} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${String(p).padStart(3)}%`);
    }
    if (running.length > rows) lines.push(`… ${running.length - rows} more running`);
    return [...lines, ...this.#notes];
  }
}
