/**
 * Runtime validation of what arrives from a queue system or an HTTP publisher: anything that does not match the
 * typed shapes is refused with a message naming the field, never forwarded to browsers.
 */
import { z } from 'zod';
import { NOTIFICATION_LEVELS, QUEUE_NAME, TASK_ID, TASK_STATUSES, USER_ID, type TaskEvent } from './types.ts';

const text = (max: number) => z.string().max(max);

export const taskUpdateSchema = z.strictObject({
  task_id: z.string().regex(TASK_ID, 'task_id: 1-200 characters, no spaces'),
  queue: z.string().regex(QUEUE_NAME, 'queue: 1-100 characters of A-Z a-z 0-9 . _ -'),
  status: z.enum(TASK_STATUSES),
  progress: z.number().finite().min(0).max(100).optional(),
  message: text(4096).optional(),
  timestamp: z.number().int().nonnegative().optional(),
});

const counter = z.int().nonnegative();
export const queueStatusSchema = z.strictObject({
  queue: z.string().regex(QUEUE_NAME),
  total_tasks: counter,
  pending_tasks: counter,
  running_tasks: counter,
  completed_tasks: counter,
  failed_tasks: counter,
});

export const notificationSchema = z.strictObject({
  level: z.enum(NOTIFICATION_LEVELS),
  title: text(200),
  message: text(4096),
  timestamp: z.number().int().nonnegative(),
});

export const taskEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.enum(['task_created', 'task_updated', 'task_completed', 'task_failed']), task: taskUpdateSchema }),
  z.strictObject({ type: z.literal('queue_status_changed'), status: queueStatusSchema }),
  z.strictObject({ type: z.literal('system_notification'), notification: notificationSchema }),
  z.strictObject({ type: z.literal('user_notification'), user_id: z.string().regex(USER_ID), notification: notificationSchema }),
]);

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Validates one event (from a queue bridge, the HTTP endpoint or an app); the error names what is wrong. */
export function parseTaskEvent(input: unknown): ParseResult<TaskEvent> {
  const parsed = taskEventSchema.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data as TaskEvent } : { ok: false, error: z.prettifyError(parsed.error) };
}
