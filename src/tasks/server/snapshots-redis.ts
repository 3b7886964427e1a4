/**
 * Task snapshots in Redis, readable by every node. Per queue, under the broker's key prefix with the queue as
 * Redis Cluster hash tag (one slot per queue, so the trimming script is cluster-safe):
 *   `<prefix>tasks:{<queue>}:snap`    hash   task id -> {"s": snapshot, "at": ms}
 *   `<prefix>tasks:{<queue>}:recent`  zset   task id -> last update (ms)
 *   `<prefix>tasks:{<queue>}:status`  string {"s": QueueStatus, "at": ms}
 * Every key expires after the TTL without updates.
 */
import { createClient } from 'redis';
import { LuaScript, type CommandRunner } from '../../broker/redis-scripts.ts';
import type { QueueStatus, TaskSnapshot } from '../types.ts';
import { SNAPSHOT_DEFAULTS, type SnapshotLimits, type SnapshotStore } from './snapshots.ts';

/** KEYS: snap hash, recent zset. ARGV: id, json, now, ttlMs, max. Drops expired (at most 1000 per call) and overflow. */
const PUT_TASK = new LuaScript(`
local now, ttl, max = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl, 'LIMIT', 0, 1000)
if #old > 0 then redis.call('HDEL', KEYS[1], unpack(old)); redis.call('ZREM', KEYS[2], unpack(old)) end
local n = redis.call('ZCARD', KEYS[2])
if n > max then
  local drop = redis.call('ZRANGE', KEYS[2], 0, n - max - 1)
  redis.call('HDEL', KEYS[1], unpack(drop))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - max - 1)
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return n`);

/** The key of one queue's item under a key prefix; the queue is the hash tag (one slot per queue). */
export const taskKey = (prefix: string, queue: string, item: string): string => `${prefix}tasks:{${queue}}:${item}`;

export interface RedisSnapshotStoreOptions extends SnapshotLimits {
  /** A connected node-redis client (not closed by the store), or a URL the store connects to (and closes). */
  client?: CommandRunner;
  url?: string;
  /** The broker's key prefix. Default 'tether:'. */
  keyPrefix?: string;
  now?: () => number;
}

interface Stored<T> {
  s: T;
  at: number;
}

export class RedisSnapshotStore implements SnapshotStore {
  readonly #prefix: string;
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #url: string | undefined;
  #client: CommandRunner | null;
  #owned: { close(): Promise<unknown> } | null = null;
  #connecting: Promise<CommandRunner> | null = null;

  constructor(options: RedisSnapshotStoreOptions) {
    if (options.client === undefined && options.url === undefined) throw new TypeError('RedisSnapshotStore needs a client or a url');
    this.#client = options.client ?? null;
    this.#url = options.url;
    this.#prefix = options.keyPrefix ?? 'tether:';
    if (/[{}]/.test(this.#prefix)) throw new TypeError(`keyPrefix must not contain "{" or "}": ${this.#prefix}`);
    this.#max = options.maxTasksPerQueue ?? SNAPSHOT_DEFAULTS.maxTasksPerQueue;
    this.#ttl = options.ttlMs ?? SNAPSHOT_DEFAULTS.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** The key of one queue's item (`snap`, `recent`, `status`, or the bridge's `leader` and `cursor`). */
  key(queue: string, item: string): string {
    return taskKey(this.#prefix, queue, item);
  }

  async #redis(): Promise<CommandRunner> {
    if (this.#client) return this.#client;
    this.#connecting ??= (async () => {
      const client = createClient({ url: this.#url });
      client.on('error', () => {});
      await client.connect();
      this.#owned = client;
      this.#client = client;
      return client;
    })();
    return this.#connecting;
  }

  async putTask(snapshot: TaskSnapshot): Promise<void> {
    const now = this.#now();
    const json = JSON.stringify({ s: snapshot, at: now } satisfies Stored<TaskSnapshot>);
    await PUT_TASK.run(await this.#redis(), [this.key(snapshot.queue, 'snap'), this.key(snapshot.queue, 'recent')], [snapshot.task_id, json, String(now), String(this.#ttl), String(this.#max)]);
  }

  async getTask(queue: string, taskId: string): Promise<TaskSnapshot | null> {
    const raw = await (await this.#redis()).sendCommand<string | null>(['HGET', this.key(queue, 'snap'), taskId]);
    return this.#fresh<TaskSnapshot>(raw);
  }

  async recentTasks(queue: string, limit: number): Promise<TaskSnapshot[]> {
    if (limit <= 0) return [];
    const redis = await this.#redis();
    const ids = await redis.sendCommand<string[]>(['ZRANGE', this.key(queue, 'recent'), '+inf', String(this.#now() - this.#ttl), 'BYSCORE', 'REV', 'LIMIT', '0', String(limit)]);
    if (ids.length === 0) return [];
    const raws = await redis.sendCommand<(string | null)[]>(['HMGET', this.key(queue, 'snap'), ...ids]);
    return raws.map((raw) => this.#fresh<TaskSnapshot>(raw)).filter((s): s is TaskSnapshot => s !== null);
  }

  async putStatus(status: QueueStatus): Promise<void> {
    const json = JSON.stringify({ s: status, at: this.#now() } satisfies Stored<QueueStatus>);
    await (await this.#redis()).sendCommand(['SET', this.key(status.queue, 'status'), json, 'PX', String(this.#ttl)]);
  }

  async getStatus(queue: string): Promise<QueueStatus | null> {
    return this.#fresh<QueueStatus>(await (await this.#redis()).sendCommand<string | null>(['GET', this.key(queue, 'status')]));
  }

  async close(): Promise<void> {
    const owned = this.#owned;
    this.#owned = null;
    if (owned) await owned.close().catch(() => {});
  }

  #fresh<T>(raw: string | null): T | null {
    if (raw === null) return null;
    const stored = JSON.parse(raw) as Stored<T>;
    return this.#now() - stored.at < this.#ttl ? stored.s : null;
  }
}
