/**
 * The channel definitions of the task topics. Read-only for clients (a push gets `{"reason": "read_only"}`);
 * `user:<id>` only for the connection whose id (a verified token's `sub`) is `<id>`; every topic also passes the
 * app's `authorize` hook when one is given.
 */
import { error, ok, type ChannelDefinition, type ChannelSocket, type Reply } from '../../server/channel.ts';
import type { JsonObject } from '../../protocol/frame.ts';
import { parseTaskTopic, QUEUE_NAME, SYSTEM_TOPIC, TASK_EVENT_TYPES, USER_ID, type QueueStatus } from '../types.ts';
import type { SnapshotStore } from './snapshots.ts';

/** Decides whether a connection may join a task topic; true allows. Runs after the built-in checks. */
export type TaskAuthorizer = (topic: string, socket: ChannelSocket) => boolean | Promise<boolean>;

export interface TaskChannelsOptions {
  store: SnapshotStore;
  authorize?: TaskAuthorizer;
  onError(err: Error, context: string): void;
}

const READ_ONLY: Reply = error({ reason: 'read_only' });
const FORBIDDEN: Reply = error({ reason: 'forbidden' });
const BAD_TOPIC: Reply = error({ reason: 'bad_topic' });

/** The typed shapes are JSON by construction (validated on the way in). */
export const json = (value: object): JsonObject => value as JsonObject;

const EMPTY_STATUS = (queue: string): QueueStatus => ({ queue, total_tasks: 0, pending_tasks: 0, running_tasks: 0, completed_tasks: 0, failed_tasks: 0 });

export function taskChannels(options: TaskChannelsOptions): Record<string, ChannelDefinition> {
  const { store, authorize, onError } = options;
  const allowed = async (topic: string, socket: ChannelSocket): Promise<boolean> => authorize === undefined || (await authorize(topic, socket)) === true;
  const readOnly = { handleIn: () => READ_ONLY };
  const suffixOf = (topic: string) => topic.slice(topic.indexOf(':') + 1);

  const taskSnapshot = async (topic: string) => {
    const parsed = parseTaskTopic(topic)!;
    return (await store.getTask(parsed.queue, parsed.taskId)) ?? { task_id: parsed.taskId, queue: parsed.queue, status: 'unknown' as const };
  };
  const queueSnapshot = async (topic: string) => {
    const queue = suffixOf(topic);
    return (await store.getStatus(queue)) ?? EMPTY_STATUS(queue);
  };
  /** Pushed once the join is live, so an update stored between the join's read and the subscription is not missed. */
  const pushSnapshot = (read: (topic: string) => Promise<object>) => async (socket: ChannelSocket) => {
    try {
      socket.push('snapshot', json(await read(socket.topic)));
    } catch (err) {
      onError(err as Error, `snapshot ${socket.topic}`);
    }
  };

  /** A topic whose join replies with its snapshot and pushes it again once live. */
  const snapshotChannel = (valid: (topic: string) => boolean, read: (topic: string) => Promise<object>): ChannelDefinition => ({
    ...readOnly,
    async join(topic, _params, socket) {
      if (!valid(topic)) return BAD_TOPIC;
      if (!(await allowed(topic, socket))) return FORBIDDEN;
      return ok({ snapshot: json(await read(topic)) });
    },
    afterJoin: pushSnapshot(read),
  });

  return {
    'tasks:*': {
      ...readOnly,
      async join(topic, _params, socket) {
        if (!QUEUE_NAME.test(suffixOf(topic))) return BAD_TOPIC;
        return (await allowed(topic, socket)) ? ok() : FORBIDDEN;
      },
    },
    'task:*': snapshotChannel((topic) => parseTaskTopic(topic) !== null, taskSnapshot),
    'queue:*': snapshotChannel((topic) => QUEUE_NAME.test(suffixOf(topic)), queueSnapshot),
    'user:*': {
      ...readOnly,
      async join(topic, _params, socket) {
        const user = suffixOf(topic);
        if (!USER_ID.test(user)) return BAD_TOPIC;
        if (socket.id !== user) return FORBIDDEN;
        return (await allowed(topic, socket)) ? ok() : FORBIDDEN;
      },
    },
    'events:*': {
      ...readOnly,
      async join(topic, _params, socket) {
        const type = suffixOf(topic);
        // User notifications are private: only `user:<id>` carries them.
        if (!(TASK_EVENT_TYPES as readonly string[]).includes(type) || type === 'user_notification') return BAD_TOPIC;
        return (await allowed(topic, socket)) ? ok() : FORBIDDEN;
      },
    },
    [SYSTEM_TOPIC]: {
      ...readOnly,
      async join(topic, _params, socket) {
        return (await allowed(topic, socket)) ? ok() : FORBIDDEN;
      },
    },
  };
}
