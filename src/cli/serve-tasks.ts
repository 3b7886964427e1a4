/**
 * What `tether serve` adds for live task queues (docs/tasks.md): the task topics, JWT users, the BullMQ bridge
 * (`--tasks`) and `POST /api/publish` (`--publish-token`). On only when one of `tasks`, `publishToken` or
 * `jwtSecret` is set; `--tasks` without any Redis is a configuration error (exit 2).
 */
import type { ChannelDefinition } from '../server/channel.ts';
import type { ConnectHook } from '../server/options.ts';
import type { TetherServer } from '../server/server.ts';
import { ConfigError } from '../ops/config-load.ts';
import type { ServeConfig } from '../ops/config.ts';
import { prependRequestHandler } from '../ops/operations.ts';
import { jwtConnect } from '../tasks/server/auth.ts';
import { BullMQBridge } from '../tasks/server/bullmq-bridge.ts';
import { RedisSubscriberCensus } from '../tasks/server/census-redis.ts';
import { createPublishRoute } from '../tasks/server/http-publish.ts';
import { TaskHub } from '../tasks/server/hub.ts';
import { taskOverview } from '../tasks/server/overview.ts';
import { RedisSnapshotStore } from '../tasks/server/snapshots-redis.ts';

export interface TaskWiring {
  readonly channels: Record<string, ChannelDefinition>;
  attach(server: TetherServer): Promise<void>;
  /** The dashboard's Tasks view source: the `--tasks` queues and those published through this node. */
  readonly overview: { look(): ReturnType<typeof taskOverview> };
  describe(httpUrl: string): string[];
  close(): Promise<void>;
}

/** The connect hook: verified JWTs (and the shared token beside them) when jwtSecret is set. */
export function tasksConnect(config: ServeConfig): ConnectHook | undefined {
  return config.jwtSecret === undefined ? undefined : jwtConnect({ secret: config.jwtSecret, token: config.token });
}

export function prepareTasks(config: ServeConfig, nodeId: string, onError: (err: Error, context: string) => void): TaskWiring | null {
  const queues = config.tasks ?? [];
  if (queues.length === 0 && config.publishToken === undefined && config.jwtSecret === undefined) return null;
  const bullRedis = config.tasksRedis ?? config.redis;
  if (queues.length > 0 && bullRedis === undefined) {
    throw new ConfigError([{ source: 'flags', key: 'tasks', message: 'the BullMQ bridge needs Redis: set --tasks-redis (TETHER_TASKS_REDIS) or --redis (REDIS_URL)' }]);
  }
  const limits = { maxTasksPerQueue: config.tasksMaxPerQueue, ttlMs: config.tasksTtlMs };
  const hub = new TaskHub({
    store: config.redis === undefined ? undefined : new RedisSnapshotStore({ ...limits, url: config.redis, keyPrefix: config.redisPrefix }),
    progressPerSecond: config.tasksProgressPerSecond,
    statusPerSecond: config.tasksProgressPerSecond,
    census: config.redis === undefined ? undefined : new RedisSubscriberCensus({ url: config.redis, keyPrefix: config.redisPrefix, nodeId, onError }),
    onError,
  });
  const bridge =
    queues.length > 0 && bullRedis !== undefined
      ? new BullMQBridge({ hub, queues, redisUrl: bullRedis, keyPrefix: config.redisPrefix, nodeId, onError })
      : null;
  let detachRoute: (() => void) | null = null;
  return {
    channels: hub.channels,
    overview: { look: () => taskOverview(hub.store, [...new Set([...queues, ...hub.queues])]) },
    async attach(server) {
      hub.attach(server);
      if (config.publishToken !== undefined) {
        detachRoute = prependRequestHandler(server.httpServer, createPublishRoute({ hub, token: config.publishToken, maxBytes: config.publishMaxBytes }));
      }
      await bridge?.start();
    },
    describe(httpUrl) {
      const lines = [`  tasks      topics tasks:* task:* queue:* user:* events:* system${config.jwtSecret === undefined ? '' : ' (users: HS256 tokens)'}`];
      if (queues.length > 0) lines.push(`  bullmq     ${queues.join(', ')}`);
      if (config.publishToken !== undefined) lines.push(`  publish    POST ${httpUrl}/api/publish  (bearer token required)`);
      return lines;
    },
    async close() {
      detachRoute?.();
      await bridge?.close();
      await hub.close();
    },
  };
}
