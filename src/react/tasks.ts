/**
 * `useTask` and `useQueue`: one task's latest state and one queue's counters, on the topics of `tether-rt/tasks`.
 * Both sit on `useChannel`, so components watching the same task or queue share one channel, and a rejoin's
 * `snapshot` replaces whatever was shown (progress is never stale after a reconnect).
 */
import { useState } from 'react';
import type { ChannelState, TetherClientError } from '../client/index.ts';
import { topics, type QueueStatus, type QueueStatusEvents, type TaskTopicEvents, type TaskUpdate } from '../tasks/index.ts';
import { useChannel, useEvent } from './hooks.ts';

export interface UseTaskResult {
  /** The task's latest state; null until the join's snapshot, or when the server knows no such task. */
  task: TaskUpdate | null;
  state: ChannelState;
  error: TetherClientError | null;
}

export interface UseQueueResult {
  /** The queue's counters; null until the join's snapshot arrives. */
  status: QueueStatus | null;
  state: ChannelState;
  error: TetherClientError | null;
}

type TaskTopicEvent = keyof TaskTopicEvents;

/**
 * One event of `task:<queue>:<id>` applied to what is shown: a snapshot replaces it (an unknown task clears it);
 * an update merges over it, unless it is older than what is shown (a delayed update must not undo a snapshot).
 */
export function applyTaskEvent<K extends TaskTopicEvent>(shown: TaskUpdate | null, event: K, payload: TaskTopicEvents[K]): TaskUpdate | null {
  if (event === 'snapshot') {
    const snapshot = payload as TaskTopicEvents['snapshot'];
    return snapshot.status === 'unknown' ? null : (snapshot as TaskUpdate);
  }
  const update = payload as TaskUpdate;
  if (shown?.timestamp !== undefined && update.timestamp !== undefined && update.timestamp < shown.timestamp) return shown;
  return shown === null ? update : { ...shown, ...update };
}

const TASK_EVENTS = ['snapshot', 'task_created', 'task_updated', 'task_completed', 'task_failed'] as const satisfies readonly TaskTopicEvent[];

/**
 * The live state of one task (`task:<queue>:<id>`: task ids are unique within a queue). Joins while mounted;
 * the join's snapshot comes first, then every update.
 */
export function useTask(queue: string, taskId: string): UseTaskResult {
  const topic = topics.task(queue, taskId);
  const { channel, state, error } = useChannel<TaskTopicEvents>(topic);
  // Keyed by topic: a component that switches to another task shows nothing of the previous one.
  const [shown, setShown] = useState<{ topic: string; task: TaskUpdate | null }>({ topic, task: null });
  const apply = <K extends TaskTopicEvent>(event: K) => (payload: TaskTopicEvents[K]) =>
    setShown((prev) => ({ topic, task: applyTaskEvent(prev.topic === topic ? prev.task : null, event, payload) }));
  useEvent(channel, TASK_EVENTS[0], apply(TASK_EVENTS[0]));
  useEvent(channel, TASK_EVENTS[1], apply(TASK_EVENTS[1]));
  useEvent(channel, TASK_EVENTS[2], apply(TASK_EVENTS[2]));
  useEvent(channel, TASK_EVENTS[3], apply(TASK_EVENTS[3]));
  useEvent(channel, TASK_EVENTS[4], apply(TASK_EVENTS[4]));
  return { task: shown.topic === topic ? shown.task : null, state, error };
}

/** A queue's counters (`queue:<name>`): the join's snapshot, then every change. */
export function useQueue(queue: string): UseQueueResult {
  const topic = topics.queue(queue);
  const { channel, state, error } = useChannel<QueueStatusEvents>(topic);
  const [shown, setShown] = useState<{ topic: string; status: QueueStatus | null }>({ topic, status: null });
  const replace = (status: QueueStatus) => setShown({ topic, status });
  useEvent(channel, 'snapshot', replace);
  useEvent(channel, 'queue_status_changed', replace);
  return { status: shown.topic === topic ? shown.status : null, state, error };
}
