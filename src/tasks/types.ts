/**
 * The shapes of live task-queue updates (docs/tasks.md): what a queue reports, what a browser receives, and the
 * topics they travel on. Bundle-safe: no Node module, nothing of the server.
 */

export const TASK_STATUSES = ['created', 'waiting', 'active', 'progress', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** One task's state as a queue reports it. `progress` is 0-100 (or any JSON the worker reports, kept as is). */
export interface TaskUpdate {
  task_id: string;
  queue: string;
  status: TaskStatus;
  progress?: number;
  message?: string;
  /** Milliseconds since the epoch when the queue system reported it (the hub fills it when absent). */
  timestamp?: number;
}

/** The latest state of a task as the hub keeps it: what a late joiner of `task:<queue>:<id>` gets first. */
export interface TaskSnapshot extends TaskUpdate {
  timestamp: number;
}

export interface QueueStatus {
  queue: string;
  total_tasks: number;
  pending_tasks: number;
  running_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
}

export const NOTIFICATION_LEVELS = ['info', 'success', 'warning', 'error'] as const;
export type NotificationLevel = (typeof NOTIFICATION_LEVELS)[number];

export interface Notification {
  level: NotificationLevel;
  title: string;
  message: string;
  timestamp: number;
}

export interface TaskError {
  code: string;
  message: string;
}

export interface CustomEvent {
  event_type: string;
  data: unknown;
}

/** The wire event names, one per event type of the mission (TaskCreated -> `task_created`, ...). */
export const TASK_EVENT_TYPES = [
  'task_created',
  'task_updated',
  'task_completed',
  'task_failed',
  'queue_status_changed',
  'system_notification',
  'user_notification',
] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

/** What each wire event carries. */
export interface TaskEventPayloads {
  task_created: TaskUpdate;
  task_updated: TaskUpdate;
  task_completed: TaskUpdate;
  task_failed: TaskUpdate;
  queue_status_changed: QueueStatus;
  system_notification: Notification;
  user_notification: Notification;
}

/** One event for the hub, discriminated by `type`; `user_notification` names its user. */
export type TaskEvent =
  | { type: 'task_created' | 'task_updated' | 'task_completed' | 'task_failed'; task: TaskUpdate }
  | { type: 'queue_status_changed'; status: QueueStatus }
  | { type: 'system_notification'; notification: Notification }
  | { type: 'user_notification'; user_id: string; notification: Notification };

/** Events of `tasks:<queue>`: every task event of the queue, plus its counters. */
export interface QueueTasksEvents {
  task_created: TaskUpdate;
  task_updated: TaskUpdate;
  task_completed: TaskUpdate;
  task_failed: TaskUpdate;
  queue_status_changed: QueueStatus;
}

/** Events of `task:<queue>:<id>`: `snapshot` arrives after every (re)join, then the live updates. */
export interface TaskTopicEvents {
  snapshot: TaskSnapshot | { task_id: string; queue: string; status: 'unknown' };
  task_created: TaskUpdate;
  task_updated: TaskUpdate;
  task_completed: TaskUpdate;
  task_failed: TaskUpdate;
}

/** Events of `queue:<name>`: `snapshot` (the last counters, or zeros) after every (re)join, then changes. */
export interface QueueStatusEvents {
  snapshot: QueueStatus;
  queue_status_changed: QueueStatus;
}

export interface UserEvents {
  user_notification: Notification;
}

export interface SystemEvents {
  system_notification: Notification;
}

/** Events of `events:<type>`: one event type across every queue. */
export type EventTypeEvents<T extends TaskEventType> = Pick<TaskEventPayloads, T>;

/** Queue names: what BullMQ accepts minus `:` (the separator of `task:<queue>:<id>`). */
export const QUEUE_NAME = /^[A-Za-z0-9._-]{1,100}$/;
/** Task ids: any printable text without spaces, up to 200 characters. */
export const TASK_ID = /^[^\s]{1,200}$/;
/** User ids (a token's `sub`). */
export const USER_ID = /^[^\s]{1,200}$/;

export const SYSTEM_TOPIC = 'system';

export const topics = {
  /** Every event of one queue. */
  tasks: (queue: string): string => `tasks:${queue}`,
  /** One task; the queue is part of its name because queue systems number tasks per queue. */
  task: (queue: string, taskId: string): string => `task:${queue}:${taskId}`,
  /** A queue's counters. */
  queue: (queue: string): string => `queue:${queue}`,
  /** One user's notifications; only that user may join. */
  user: (userId: string): string => `user:${userId}`,
  /** One event type of every queue. */
  events: (type: TaskEventType): string => `events:${type}`,
  system: SYSTEM_TOPIC,
} as const;

/** `task:<queue>:<id>` -> its parts, or null. */
export function parseTaskTopic(topic: string): { queue: string; taskId: string } | null {
  if (!topic.startsWith('task:')) return null;
  const rest = topic.slice(5);
  const colon = rest.indexOf(':');
  if (colon <= 0) return null;
  const queue = rest.slice(0, colon);
  const taskId = rest.slice(colon + 1);
  return QUEUE_NAME.test(queue) && TASK_ID.test(taskId) ? { queue, taskId } : null;
}

/** The wire event of a task's status: terminal ones keep their own names, the rest are updates. */
export function taskEventOf(status: TaskStatus): 'task_created' | 'task_updated' | 'task_completed' | 'task_failed' {
  if (status === 'created') return 'task_created';
  if (status === 'completed') return 'task_completed';
  if (status === 'failed') return 'task_failed';
  return 'task_updated';
}
