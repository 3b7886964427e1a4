/**
 * How many subscribers a task topic has on the other nodes, so `reached` counts the whole cluster. Each node
 * writes its own counts every `intervalMs` to `<prefix>tasks:census:<node>` (a hash, topic -> subscribers, which
 * expires after three intervals without a write, so a dead node stops counting) and reads the other live nodes'
 * hashes. A publish then adds a cached number: no Redis round trip per event; the remote part may lag by one
 * interval.
 */
import { createClient } from 'redis';
import { systemClock, type Clock } from '../../server/clock.ts';

export interface RedisCensusOptions {
  url: string;
  /** The broker's key prefix. Default 'tether:'. */
  keyPrefix?: string;
  nodeId: string;
  /** Default 1000. */
  intervalMs?: number;
  /** Topics reported per node at most (the busiest first). Default 10000. */
  maxTopics?: number;
  clock?: Clock;
  onError?: (err: Error, context: string) => void;
}

export class RedisSubscriberCensus {
  readonly #o: Required<Omit<RedisCensusOptions, 'onError' | 'clock'>> & { clock: Clock; onError: (err: Error, context: string) => void };
  readonly #redis;
  #remote = new Map<string, number>();
  #local: () => ReadonlyMap<string, number> = () => new Map();
  #timer: unknown = null;

  constructor(options: RedisCensusOptions) {
    this.#o = { keyPrefix: 'tether:', intervalMs: 1000, maxTopics: 10_000, clock: systemClock, onError: () => {}, ...options };
    this.#redis = createClient({ url: options.url });
    this.#redis.on('error', (err: Error) => this.#o.onError(err, 'census redis'));
  }

  /** Subscribers of a topic on the other nodes, as of the last round. */
  remote(topic: string): number {
    return this.#remote.get(topic) ?? 0;
  }

  async start(local: () => ReadonlyMap<string, number>): Promise<void> {
    this.#local = local;
    await this.#redis.connect();
    await this.round();
    this.#timer = this.#o.clock.setInterval(() => void this.round(), this.#o.intervalMs);
  }

  /** One write of this node's counts and one read of the others'. */
  async round(): Promise<void> {
    try {
      const { keyPrefix, nodeId, intervalMs } = this.#o;
      const mine = `${keyPrefix}tasks:census:${nodeId}`;
      const nodes = `${keyPrefix}tasks:census-nodes`;
      const now = this.#o.clock.now();
      const counts = [...this.#local()].sort((a, b) => b[1] - a[1]).slice(0, this.#o.maxTopics);
      const write = this.#redis.multi().del(mine);
      if (counts.length > 0) write.hSet(mine, new Map(counts.map(([t, n]) => [t, String(n)])));
      await write.pExpire(mine, intervalMs * 3).zAdd(nodes, { score: now, value: nodeId }).zRemRangeByScore(nodes, '-inf', now - intervalMs * 3).exec();
      const others = (await this.#redis.zRange(nodes, 0, -1)).filter((n) => n !== nodeId);
      const remote = new Map<string, number>();
      // Issued together: node-redis pipelines them, one round trip for every node instead of one each.
      const hashes = await Promise.all(others.map((node) => this.#redis.hGetAll(`${keyPrefix}tasks:census:${node}`)));
      for (const hash of hashes) {
        for (const [topic, n] of Object.entries(hash)) remote.set(topic, (remote.get(topic) ?? 0) + Number(n));
      }
      this.#remote = remote;
    } catch (err) {
      this.#o.onError(err as Error, 'census');
    }
  }

  async close(): Promise<void> {
    if (this.#timer !== null) this.#o.clock.clearInterval(this.#timer);
    this.#timer = null;
    if (!this.#redis.isOpen) return;
    await this.#redis.multi().del(`${this.#o.keyPrefix}tasks:census:${this.#o.nodeId}`).zRem(`${this.#o.keyPrefix}tasks:census-nodes`, this.#o.nodeId).exec().catch(() => {});
    await this.#redis.close().catch(() => {});
  }
}
