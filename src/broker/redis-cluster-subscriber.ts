import calculateSlot from 'cluster-key-slot';
import type { SlotRange } from './redis-connection.ts';
import { RedisSubscriber, type RedisSubscriberOptions, type Subscriber } from './redis-subscriber.ts';

export interface ClusterSubscriberOptions extends Omit<RedisSubscriberOptions, 'url' | 'sharded' | 'groupBySlot'> {
  /** A seed URL: its scheme and credentials are used for every master. */
  seed: string;
  /** The cluster's slot map (CLUSTER SLOTS through the command connection). */
  slots(): Promise<SlotRange[]>;
}

const SLOTS = 16384;

/**
 * Sharded pub/sub on a Redis Cluster: one `RedisSubscriber` per master, each holding the channels that
 * hash to that master's slots, subscribing them one slot per command. A master that drops its connection is
 * retried where it was (a brief cut resubscribes there, with a `gap`); meanwhile the slot map is re-read every
 * probe interval, and channels whose slots now belong to another master (a failover promoted a replica) move
 * to a subscriber of that master and end in a `gap` too. A slot moved by resharding (Redis unsubscribes its
 * channels on the old owner) is handled the same way. Never a silent window.
 */
export class ClusterSubscriber implements Subscriber {
  readonly wanted = new Set<string>();
  readonly #o: ClusterSubscriberOptions;
  /** Master address per slot. */
  #owners: string[] = new Array<string>(SLOTS).fill('');
  readonly #shards = new Map<string, { sub: RedisSubscriber; started: Promise<void> }>();
  /** Channel -> the master address its subscriber is on. */
  readonly #placed = new Map<string, string>();
  /** Masters whose connection dropped and whose channels are not all subscribed again yet. */
  readonly #pending = new Set<string>();
  /** Channels whose slot moved away from their subscriber (resharding), waiting to be placed on the new owner. */
  readonly #moved = new Set<string>();
  #refreshTimer: unknown = null;
  #refreshing: Promise<void> | null = null;
  #closed = false;

  constructor(options: ClusterSubscriberOptions) {
    this.#o = options;
  }

  setSharded(sharded: boolean): void {
    if (!sharded) throw new Error('Redis Cluster needs sharded pub/sub (Redis 7 or newer)');
  }

  get connected(): boolean {
    if (this.#pending.size || this.#moved.size) return false;
    for (const { sub } of this.#shards.values()) if (!sub.connected && sub.wanted.size) return false;
    return true;
  }

  async start(): Promise<void> {
    await this.#readSlots();
    await this.#place([...this.wanted]);
  }

  subscribe(channels: string[]): Promise<void> {
    for (const t of channels) this.wanted.add(t);
    return this.#place(channels);
  }

  async unsubscribe(channels: string[]): Promise<void> {
    const byShard = new Map<string, string[]>();
    for (const t of channels) {
      this.wanted.delete(t);
      const address = this.#placed.get(t);
      if (address === undefined) continue;
      this.#placed.delete(t);
      const list = byShard.get(address);
      if (list) list.push(t);
      else byShard.set(address, [t]);
    }
    await Promise.all([...byShard].map(([address, ts]) => this.#shards.get(address)?.sub.unsubscribe(ts)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#refreshTimer !== null) this.#o.timers.clearTimeout(this.#refreshTimer);
    this.wanted.clear();
    this.#placed.clear();
    await this.#refreshing?.catch(() => undefined);
    const shards = [...this.#shards.values()];
    this.#shards.clear();
    await Promise.all(shards.map(({ sub }) => sub.close()));
  }

  async #readSlots(): Promise<void> {
    const owners = new Array<string>(SLOTS).fill('');
    for (const range of await this.#o.slots()) {
      const address = `${range.host}:${range.port}`;
      for (let s = range.from; s <= range.to; s++) owners[s] = address;
    }
    this.#owners = owners;
  }

  #ownerOf(channel: string): string {
    return this.#owners[calculateSlot(channel)];
  }

  /** Subscribes channels on the subscriber of their slot's master (wanted channels not placed yet, or moved). */
  async #place(channels: string[]): Promise<void> {
    const byShard = new Map<string, string[]>();
    for (const t of channels) {
      if (!this.wanted.has(t)) continue;
      const address = this.#ownerOf(t);
      if (!address) continue; // slot not served right now: the refresh places it
      const was = this.#placed.get(t);
      if (was === address) continue;
      if (was !== undefined) void this.#shards.get(was)?.sub.unsubscribe([t]);
      this.#placed.set(t, address);
      const list = byShard.get(address);
      if (list) list.push(t);
      else byShard.set(address, [t]);
    }
    await Promise.all([...byShard].map(([address, ts]) => this.#subscribeOn(address, ts)));
  }

  async #subscribeOn(address: string, channels: string[]): Promise<void> {
    const shard = this.#shard(address);
    try {
      await shard.started;
      await shard.sub.subscribe(channels);
    } catch (error) {
      // A master that cannot be reached, or a slot that moved (MOVED): re-read the map and place again.
      this.#o.onError(error as Error);
      this.#scheduleRefresh();
    }
  }

  #shard(address: string): { sub: RedisSubscriber; started: Promise<void> } {
    let shard = this.#shards.get(address);
    if (shard) return shard;
    const url = new URL(this.#o.seed);
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), address.slice(address.lastIndexOf(':') + 1)];
    url.hostname = host.includes(':') ? `[${host}]` : host;
    url.port = port;
    const sub = new RedisSubscriber({
      ...this.#o,
      url: url.toString(),
      sharded: true,
      groupBySlot: true,
      onDown: (channels) => {
        this.#pending.add(address);
        this.#o.onDown(channels);
        this.#scheduleRefresh();
      },
      onRestored: (channels) => {
        this.#pending.delete(address);
        this.#o.onRestored(channels);
      },
      onMoved: (channel) => {
        // Redis already unsubscribed it there: forget it on that connection without a SUNSUBSCRIBE.
        this.#shards.get(address)?.sub.wanted.delete(channel);
        if (this.#placed.get(channel) === address) this.#placed.delete(channel);
        this.#moved.add(channel);
        this.#o.onDown([channel]);
        this.#scheduleRefresh();
      },
    });
    const started = sub.start();
    started.catch(() => undefined);
    shard = { sub, started };
    this.#shards.set(address, shard);
    return shard;
  }

  /** While some master is down (or a subscribe failed), re-read the slot map every probe interval. */
  #scheduleRefresh(): void {
    if (this.#closed || this.#refreshTimer !== null) return;
    this.#refreshTimer = this.#o.timers.setTimeout(() => {
      this.#refreshTimer = null;
      this.#refreshing = this.#refresh().finally(() => {
        this.#refreshing = null;
      });
    }, this.#o.probeIntervalMs);
  }

  async #refresh(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#readSlots();
    } catch (error) {
      this.#o.onError(error as Error);
      this.#scheduleRefresh();
      return;
    }
    const moved: string[] = [];
    for (const t of this.wanted) if (this.#placed.get(t) !== this.#ownerOf(t)) moved.push(t);
    for (const t of this.#moved) if (!this.wanted.has(t)) this.#moved.delete(t);
    // A subscriber that never connected, or whose master is no longer a master (failed over): its channels go to
    // whichever master now serves their slots (a fresh subscriber if that is the same address).
    for (const [address, shard] of this.#shards) {
      const failed = await shard.started.then(() => false, () => true);
      if (failed || (!shard.sub.connected && !this.#owners.includes(address))) {
        this.#shards.delete(address);
        this.#pending.delete(address);
        for (const t of shard.sub.wanted) {
          if (this.#placed.get(t) !== address) continue;
          this.#placed.delete(t);
          moved.push(t);
        }
        void shard.sub.close();
      }
    }
    const unique = [...new Set(moved)];
    if (unique.length) {
      await this.#place(unique);
      const live = unique.filter((t) => {
        const address = this.#placed.get(t);
        return address !== undefined && this.#shards.get(address)?.sub.connected === true;
      });
      for (const t of live) this.#moved.delete(t);
      if (live.length) this.#o.onRestored(live);
    }
    if (!this.connected || [...this.wanted].some((t) => !this.#placed.has(t))) this.#scheduleRefresh();
  }
}
