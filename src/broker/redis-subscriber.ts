import calculateSlot from 'cluster-key-slot';
import { createClient } from 'redis';
import type { BrokerTimers } from './timers.ts';

type Client = ReturnType<typeof createClient>;

export interface RedisSubscriberOptions {
  url: string;
  /** CLIENT SETNAME of the connection, so operators (and tests) can find it. */
  name: string;
  /** SSUBSCRIBE rather than SUBSCRIBE; settable until `start`. */
  sharded: boolean;
  batchSize: number;
  /** One (S)SUBSCRIBE per hash slot (a cluster node refuses a command whose channels span slots). */
  groupBySlot?: boolean;
  reconnectMaxDelayMs: number;
  /** The connection is PINGed this often; no answer within `probeTimeoutMs` counts as a drop. */
  probeIntervalMs: number;
  probeTimeoutMs: number;
  timers: BrokerTimers;
  onMessage(envelope: Buffer): void;
  /** Channels newly subscribed on the live connection (after a subscribe call, or all of them after a reconnect). */
  onSubscribed(channels: string[]): Promise<void>;
  /** The connection dropped: from now until `onRestored`, messages on these channels may be missed. */
  onDown(channels: string[]): void;
  /** A new connection is up and every wanted channel is subscribed again. */
  onRestored(channels: string[]): void;
  onError(error: Error): void;
  /**
   * Redis unsubscribed a channel by itself because its slot moved to another cluster node (resharding); it is no
   * longer active here. Without this hook the channel is re-subscribed on this connection's next reconcile.
   */
  onMoved?(channel: string): void;
}

const RECONNECT_BASE_MS = 100;

/**
 * What the broker needs of its pub/sub side: one connection (`RedisSubscriber`) or one per shard. It deals in
 * channel names; the broker maps topics (and its own inbox) to channels (`RedisKeys`).
 */
export interface Subscriber {
  readonly wanted: Set<string>;
  readonly connected: boolean;
  setSharded(sharded: boolean): void;
  start(): Promise<void>;
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The pub/sub connection. Its desired channel set changes at once on `subscribe`/`unsubscribe`; a reconcile,
 * scheduled once per event-loop turn, brings Redis in line with batched (S)SUBSCRIBE commands of up to
 * `batchSize` channels. It reconnects by itself (full-jitter backoff) instead of letting node-redis do it,
 * because node-redis re-subscribes sharded channels one command per channel and would hide the gap.
 */
export class RedisSubscriber implements Subscriber {
  readonly wanted = new Set<string>();
  readonly #active = new Set<string>();
  readonly #o: RedisSubscriberOptions;
  #client: Client | null = null;
  #chain: Promise<void> = Promise.resolve();
  #scheduled: Promise<void> | null = null;
  #reconnectTimer: unknown = null;
  #probeTimer: unknown = null;
  #probing = false;
  #closed = false;

  constructor(options: RedisSubscriberOptions) {
    this.#o = options;
  }

  setSharded(sharded: boolean): void {
    this.#o.sharded = sharded;
  }

  get connected(): boolean {
    return this.#client !== null;
  }

  async start(): Promise<void> {
    const client = await this.#connect();
    this.#client = client;
    await this.#enqueue();
    this.#probeTimer = this.#o.timers.setInterval(this.#probe, this.#o.probeIntervalMs);
  }

  /**
   * A connection that silently stops carrying data (a dead peer or a network black hole, no FIN, no RST) would
   * otherwise look healthy for as long as TCP keepalive takes; a PING that goes unanswered exposes it.
   */
  readonly #probe = (): void => {
    const client = this.#client;
    if (!client || this.#probing) return;
    this.#probing = true;
    // node-redis's own command timeout stops counting once the command is written, so the clock is ours.
    const timer = this.#o.timers.setTimeout(() => {
      if (client === this.#client) this.#dropped(client);
    }, this.#o.probeTimeoutMs);
    client
      .sendCommand(['PING'])
      .catch(() => undefined)
      .finally(() => {
        this.#o.timers.clearTimeout(timer);
        this.#probing = false;
      });
  };

  subscribe(channels: string[]): Promise<void> {
    for (const t of channels) this.wanted.add(t);
    return this.#schedule();
  }

  unsubscribe(channels: string[]): Promise<void> {
    for (const t of channels) this.wanted.delete(t);
    return this.#schedule();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer !== null) this.#o.timers.clearTimeout(this.#reconnectTimer);
    if (this.#probeTimer !== null) this.#o.timers.clearInterval(this.#probeTimer);
    this.wanted.clear();
    await this.#chain;
    const client = this.#client;
    this.#client = null;
    if (!client) return;
    try {
      if (this.#active.size) await this.#send(client, 'unsubscribe', [...this.#active]);
      await client.close();
    } catch {
      client.destroy();
    }
    this.#active.clear();
  }

  /** Coalesces every call made in this event-loop turn into one reconcile. */
  #schedule(): Promise<void> {
    if (!this.#scheduled) {
      this.#scheduled = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          this.#scheduled = null;
          this.#enqueue().then(resolve, reject);
        });
      });
    }
    return this.#scheduled;
  }

  #enqueue(): Promise<void> {
    const run = this.#chain.then(() => this.#reconcile());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #reconcile(): Promise<void> {
    const client = this.#client;
    if (!client) return; // down: the reconnect re-subscribes everything wanted
    const add: string[] = [];
    const remove: string[] = [];
    for (const t of this.wanted) if (!this.#active.has(t)) add.push(t);
    for (const t of this.#active) if (!this.wanted.has(t)) remove.push(t);
    try {
      for (const batch of this.#batches(remove)) {
        await this.#send(client, 'unsubscribe', batch);
        for (const t of batch) this.#active.delete(t);
      }
      for (const batch of this.#batches(add)) {
        await this.#send(client, 'subscribe', batch);
        for (const t of batch) this.#active.add(t);
      }
    } catch (error) {
      // A dropped connection is handled by the reconnect; anything else is the caller's to see.
      if (client === this.#client && client.isReady) throw error;
      return;
    }
    if (add.length) await this.#o.onSubscribed(add.filter((t) => this.#active.has(t)));
  }

  /** Chunks of at most `batchSize` channels; with `groupBySlot`, each chunk within one hash slot. */
  *#batches(channels: string[]): Generator<string[]> {
    const size = this.#o.batchSize;
    const groups = new Map<number, string[]>();
    if (this.#o.groupBySlot) {
      for (const t of channels) {
        const slot = calculateSlot(t);
        const group = groups.get(slot);
        if (group) group.push(t);
        else groups.set(slot, [t]);
      }
    } else {
      groups.set(0, channels);
    }
    for (const group of groups.values()) for (let i = 0; i < group.length; i += size) yield group.slice(i, i + size);
  }

  #send(client: Client, op: 'subscribe' | 'unsubscribe', channels: string[]): Promise<void> {
    if (op === 'subscribe') {
      return this.#o.sharded
        ? client.sSubscribe(channels, this.#listener, true)
        : client.subscribe(channels, this.#listener, true);
    }
    return this.#o.sharded
      ? client.sUnsubscribe(channels, this.#listener, true)
      : client.unsubscribe(channels, this.#listener, true);
  }

  readonly #listener = (message: Buffer): void => {
    try {
      this.#o.onMessage(message);
    } catch (error) {
      this.#o.onError(error as Error);
    }
  };

  async #connect(): Promise<Client> {
    const client: Client = createClient({ url: this.#o.url, name: this.#o.name, socket: { reconnectStrategy: false } });
    client.on('error', (error: Error) => {
      if (client === this.#client && !client.isOpen) this.#dropped(client);
      else if (client === this.#client) this.#o.onError(error);
    });
    client.on('end', () => {
      if (client === this.#client) this.#dropped(client);
    });
    client.on('sharded-channel-moved', (moved: string | Buffer) => {
      const channel = String(moved);
      if (client !== this.#client || !this.#active.delete(channel)) return;
      this.#o.onMoved?.(channel);
    });
    try {
      await client.connect();
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  }

  #dropped(client: Client): void {
    if (this.#closed) return;
    this.#client = null;
    const lost = [...this.#active];
    this.#active.clear();
    try {
      client.destroy();
    } catch {
      // already closed
    }
    this.#o.onDown(lost);
    this.#reconnectLater(0);
  }

  #reconnectLater(attempt: number): void {
    const cap = Math.min(this.#o.reconnectMaxDelayMs, RECONNECT_BASE_MS * 2 ** attempt);
    this.#reconnectTimer = this.#o.timers.setTimeout(() => {
      this.#reconnectTimer = null;
      void this.#reconnect(attempt);
    }, Math.random() * cap);
  }

  async #reconnect(attempt: number): Promise<void> {
    if (this.#closed) return;
    let client: Client;
    try {
      client = await this.#connect();
    } catch (error) {
      this.#o.onError(new Error(`Redis subscriber reconnect failed: ${(error as Error).message}`, { cause: error }));
      if (!this.#closed) this.#reconnectLater(attempt + 1);
      return;
    }
    if (this.#closed) {
      client.destroy();
      return;
    }
    this.#client = client;
    try {
      await this.#enqueue();
    } catch (error) {
      this.#o.onError(error as Error);
    }
    if (this.#client === client) this.#o.onRestored([...this.#active]);
  }
}
