/**
 * Client helpers: typed channels on the task topics. Each returns a joined (joining) Channel whose `on` knows the
 * payload of every event; leave it with `channel.leave()`.
 */
import type { Channel } from '../client/channel.ts';
import type { DefaultEvents, JoinParams } from '../client/channel-options.ts';
import type { Socket } from '../client/socket.ts';
import { topics, type EventTypeEvents, type QueueStatusEvents, type QueueTasksEvents, type SystemEvents, type TaskEventType, type TaskTopicEvents, type UserEvents } from './types.ts';

function joined<E extends object>(socket: Socket, topic: string, params?: JoinParams): Channel<E, DefaultEvents> {
  const channel = socket.channel<E>(topic, params);
  channel.join();
  return channel;
}

/** Every task event of one queue (`tasks:<queue>`), with its counters. */
export function watchQueue(socket: Socket, queue: string): Channel<QueueTasksEvents, DefaultEvents> {
  return joined<QueueTasksEvents>(socket, topics.tasks(queue));
}

/** One task (`task:<queue>:<id>`): a `snapshot` after every (re)join, so progress shown is never stale. */
export function watchTask(socket: Socket, queue: string, taskId: string): Channel<TaskTopicEvents, DefaultEvents> {
  return joined<TaskTopicEvents>(socket, topics.task(queue, taskId));
}

/** A queue's counters (`queue:<name>`): a `snapshot` after every (re)join, then `queue_status_changed`. */
export function watchQueueStatus(socket: Socket, queue: string): Channel<QueueStatusEvents, DefaultEvents> {
  return joined<QueueStatusEvents>(socket, topics.queue(queue));
}

/** The signed-in user's notifications (`user:<id>`); the server refuses any other user's. */
export function watchUser(socket: Socket, userId: string): Channel<UserEvents, DefaultEvents> {
  return joined<UserEvents>(socket, topics.user(userId));
}

export function watchSystem(socket: Socket): Channel<SystemEvents, DefaultEvents> {
  return joined<SystemEvents>(socket, topics.system);
}

/** One event type across every queue (`events:<type>`), e.g. every `task_failed`. */
export function watchEventType<T extends TaskEventType>(socket: Socket, type: T): Channel<EventTypeEvents<T>, DefaultEvents> {
  return joined<EventTypeEvents<T>>(socket, topics.events(type));
}
