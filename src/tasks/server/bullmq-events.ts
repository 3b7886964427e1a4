/**
 * BullMQ's QueueEvents, as typed task events: pure mapping, no I/O. `added` -> task_created, `waiting` and
 * `active` -> task_updated, `progress` -> task_updated (status progress), `completed` / `failed` -> their own,
 * carrying the last progress the job reported so a watcher's final bar is right.
 */
import type { TaskEvent, TaskUpdate } from '../types.ts';

export const BULLMQ_EVENTS = ['added', 'waiting', 'active', 'progress', 'completed', 'failed'] as const;
export type BullMQEventName = (typeof BULLMQ_EVENTS)[number];

export interface BullMQEventArgs {
  jobId: string;
  data?: unknown;
  failedReason?: string;
}

const MAX_MESSAGE = 4096;

/** A job's progress as a number 0-100: a number, or an object's `progress` / `percent` field; else undefined. */
export function progressOf(data: unknown): { progress?: number; message?: string } {
  if (typeof data === 'number') return Number.isFinite(data) ? { progress: clamp(data) } : {};
  if (typeof data !== 'object' || data === null) return {};
  const record = data as Record<string, unknown>;
  const value = typeof record.progress === 'number' ? record.progress : typeof record.percent === 'number' ? record.percent : undefined;
  const out: { progress?: number; message?: string } = {};
  if (value !== undefined && Number.isFinite(value)) out.progress = clamp(value);
  if (typeof record.message === 'string') out.message = record.message.slice(0, MAX_MESSAGE);
  return out;
}

const clamp = (n: number) => Math.min(100, Math.max(0, n));

/** The task event of one QueueEvents event; `lastProgress` is what the job last reported (for terminal events). */
export function taskEventOfBullMQ(queue: string, name: BullMQEventName, args: BullMQEventArgs, lastProgress: number | undefined): TaskEvent | null {
  const base = { task_id: String(args.jobId), queue };
  const withLast = (update: TaskUpdate): TaskUpdate => (lastProgress === undefined ? update : { ...update, progress: lastProgress });
  switch (name) {
    case 'added':
      return { type: 'task_created', task: { ...base, status: 'created' } };
    case 'waiting':
      return { type: 'task_updated', task: { ...base, status: 'waiting' } };
    case 'active':
      return { type: 'task_updated', task: withLast({ ...base, status: 'active' }) };
    case 'progress': {
      const parsed = progressOf(args.data);
      return parsed.progress === undefined && parsed.message === undefined ? null : { type: 'task_updated', task: { ...base, status: 'progress', ...parsed } };
    }
    case 'completed':
      return { type: 'task_completed', task: withLast({ ...base, status: 'completed' }) };
    case 'failed':
      return { type: 'task_failed', task: withLast({ ...base, status: 'failed', message: String(args.failedReason ?? '').slice(0, MAX_MESSAGE) }) };
  }
}

/** Orders BullMQ stream ids (`<ms>-<seq>`). */
export function streamIdAfter(a: string, b: string): boolean {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  return Number(am) !== Number(bm) ? Number(am) > Number(bm) : Number(as) > Number(bs);
}
