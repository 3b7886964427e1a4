import { BrokerEmitter } from './emitter.ts';
import { RedisDedupStore } from './dedup-redis.ts';
import { decodeEnvelope, encodeInbox, encodeMessage, payloadBytes } from './envelope.ts';
import { HISTORY_LIMIT_DEFAULTS } from './history-memory.ts';
import { RedisHistoryStore } from './history-redis.ts';
import { Inbox, type InboxEnvelope } from './inbox.ts';
import { NodeLiveness } from './liveness-redis.ts';
import { randomNodeId } from './memory.ts';
import { PresenceReplica } from './presence-redis.ts';
import { ClusterSubscriber } from './redis-cluster-subscriber.ts';
import { clusterConnection, singleConnection, type CommandConnection } from './redis-connection.ts';
import { RedisKeys } from './redis-keys.ts';
import { RedisSubscriber, type Subscriber } from './redis-subscriber.ts';
import { systemTimers, type BrokerTimers } from './timers.ts';
import type { Broker, BrokerMessage, HistoryPolicy, PresenceChange } from './types.ts';

export interface RedisBrokerOptions {
  /** One Redis: `redis://[[user]:password@]host[:port][/db]` or `rediss://…` for TLS. Give this or `cluster`. */
  url?: string;
  /**
   * A Redis Cluster: seed node URLs (`redis://host:port`, any few of its nodes; credentials and TLS of the first
   * apply to every node). Needs Redis 7 (sharded pub/sub). Give this or `url`.
   */
  cluster?: string[];
  /** This node's id (letters, digits, `.`, `_`, `:`, `-`); default a random `node-…` id. Unique per process. */
  nodeId?: string;
  /** Prepended to every key and channel, so several clusters can share one Redis; default `tether:`. */
  keyPrefix?: string;
  /** How often this node writes its heartbeat, checks the others' and PINGs its pub/sub connection; default 1000 ms. */
  heartbeatMs?: number;
  /**
   * A node silent for this long is dead: `nodeDown`, its presences leave. A pub/sub connection whose PING goes
   * unanswered this long is dropped and replaced (with a `gap`). Default 5000 ms.
   */
  nodeTimeoutMs?: number;
  /** Sharded pub/sub (SPUBLISH/SSUBSCRIBE): `auto` (default) uses it when the server is Redis 7 or newer. */
  sharded?: boolean | 'auto';
  /** Channels per SUBSCRIBE/UNSUBSCRIBE command when (re)subscribing; default 500. */
  subscribeBatchSize?: number;
  /** History keys expire after this long without an append (never sooner than the policy's ttlMs); default 24 h. */
  historyIdleMs?: number;
  /** Stored messages per topic, a ceiling over each channel's `maxMessages`; default 10000. */
  historyMaxMessages?: number;
  /**
   * A message whose stored bytes exceed this is published live but not stored: its offset holds a marker, so a
   * rejoin whose gap includes it answers `recovered: false`. Default 1 MiB.
   */
  historyMaxMessageBytes?: number;
  /** Largest data of one inbox message, request or answer (UTF-8 bytes); default 16 MiB. */
  inboxMaxMessageBytes?: number;
  /** Inbox requests this node waits on at once, and answers at once (each); over it a request is refused `busy`. Default 10000. */
  inboxMaxPendingRequests?: number;
  /** Upper bound of the reconnect backoff of both connections (full jitter from 100 ms); default 5000 ms. */
  reconnectMaxDelayMs?: number;
  /** Timer functions for heartbeats and reconnects; default the global ones. */
  timers?: BrokerTimers;
}

const NODE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`RedisBroker: ${name} must be a positive number, got ${value}`);
  return value;
}

/**
 * The scale-out broker: sharded pub/sub for fan-out, Streams for history, a sorted set for node liveness,
 * one hash per topic for presence. Two connections per node: commands, and pub/sub.
 */
export class RedisBroker extends BrokerEmitter implements Broker {
  readonly nodeId: string;
  readonly history: RedisHistoryStore;
  readonly dedup: RedisDedupStore;
  readonly inbox: Inbox;
  /** @internal */
  readonly keys: RedisKeys;
  readonly #cmd: CommandConnection;
  readonly #sub: Subscriber;
  readonly #cluster: boolean;
  readonly #liveness: NodeLiveness;
  readonly #presence: PresenceReplica;
  readonly #sharded: boolean | 'auto';
  readonly #timers: BrokerTimers;
  readonly #heartbeatMs: number;
  #publishCommand = 'PUBLISH';
  #state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  #starting: Promise<void> | null = null;
  #everConnected = false;
  readonly #syncPending = new Set<string>();
  #syncRetry: unknown = null;

  constructor(options: RedisBrokerOptions) {
    super();
    const redisUrl = /^rediss?:\/\//;
    const seeds = options?.cluster;
    if (seeds !== undefined) {
      if (options.url !== undefined) throw new TypeError('RedisBroker: give url (one Redis) or cluster (seed nodes), not both');
      if (!Array.isArray(seeds) || seeds.length === 0 || !seeds.every((u) => typeof u === 'string' && redisUrl.test(u))) {
        throw new TypeError(`RedisBroker: cluster must be a non-empty list of redis:// or rediss:// URLs, got ${String(seeds)}`);
      }
      if (options.sharded === false) throw new TypeError('RedisBroker: sharded must not be false on a cluster (it needs sharded pub/sub)');
    } else if (typeof options?.url !== 'string' || !redisUrl.test(options.url)) {
      throw new TypeError(`RedisBroker: url must be a redis:// or rediss:// URL, got ${String(options?.url)}`);
    }
    this.#cluster = seeds !== undefined;
    this.nodeId = options.nodeId ?? randomNodeId();
    if (!NODE_ID.test(this.nodeId)) throw new TypeError(`RedisBroker: nodeId must match ${NODE_ID}, got ${this.nodeId}`);
    const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 1000);
    const nodeTimeoutMs = positive('nodeTimeoutMs', options.nodeTimeoutMs, 5000);
    if (nodeTimeoutMs <= heartbeatMs) {
      throw new TypeError(`RedisBroker: nodeTimeoutMs (${nodeTimeoutMs}) must exceed heartbeatMs (${heartbeatMs})`);
    }
    const timers = options.timers ?? systemTimers;
    this.#timers = timers;
    this.#heartbeatMs = heartbeatMs;
    this.#sharded = options.sharded ?? 'auto';
    this.keys = new RedisKeys(options.keyPrefix ?? 'tether:');
    const publishCommand = () => this.#publishCommand;

    const reconnectMaxDelayMs = positive('reconnectMaxDelayMs', options.reconnectMaxDelayMs, 5000);
    // On a cluster each reconnection attempt of a node client is what lets it re-read the slot map (after a
    // failover the old master never answers again), so attempts there are at most a heartbeat apart.
    const commandRetryCapMs = seeds ? Math.min(reconnectMaxDelayMs, heartbeatMs) : reconnectMaxDelayMs;
    const connectionOptions = {
      name: `tether:${this.nodeId}:cmd`,
      // The first connection fails `start` outright; once running, retry for as long as it takes.
      reconnectStrategy: (retries: number, cause: Error) =>
        this.#everConnected ? Math.random() * Math.min(commandRetryCapMs, 100 * 2 ** retries) : cause,
      topologyRefreshMs: heartbeatMs,
    };
    const cluster = seeds ? clusterConnection(seeds, connectionOptions) : null;
    this.#cmd = cluster ?? singleConnection(options.url as string, connectionOptions);
    this.#cmd.on('ready', () => {
      this.#everConnected = true;
    });
    this.#cmd.on('error', (error: Error) => this.emit('error', error));
    this.history = new RedisHistoryStore({
      client: this.#cmd,
      keys: this.keys,
      idleMs: positive('historyIdleMs', options.historyIdleMs, 86_400_000),
      maxMessages: positive('historyMaxMessages', options.historyMaxMessages, HISTORY_LIMIT_DEFAULTS.maxMessages),
      maxMessageBytes: positive('historyMaxMessageBytes', options.historyMaxMessageBytes, HISTORY_LIMIT_DEFAULTS.maxMessageBytes),
      publishCommand,
    });
    this.dedup = new RedisDedupStore(this.#cmd, this.keys);
    this.inbox = new Inbox(
      {
        nodeId: this.nodeId,
        timers,
        isRunning: () => this.#state === 'running',
        deliver: (envelope) => this.#deliverInbox(envelope),
        onError: (error) => this.#reportError(error),
      },
      { maxMessageBytes: options.inboxMaxMessageBytes, maxPendingRequests: options.inboxMaxPendingRequests },
    );
    this.#liveness = new NodeLiveness({
      client: this.#cmd,
      keys: this.keys,
      nodeId: this.nodeId,
      heartbeatMs,
      nodeTimeoutMs,
      timers,
      onNodeDown: (node) => {
        this.#presence.forgetNode(node);
        this.emit('nodeDown', node);
      },
      onClaimed: (node) => this.#presence.purge(node),
      onEvicted: () => void this.#presence.republishOwn().catch(this.#reportError),
      onStalled: () => this.#reconnectCommands(),
      onError: this.#reportError,
    });
    this.#presence = new PresenceReplica({
      client: this.#cmd,
      keys: this.keys,
      nodeId: this.nodeId,
      publishCommand,
      isWanted: (topic) => this.#wants(topic),
      isDead: (node) => this.#liveness.isDead(node),
      emit: (change) => this.emit('presence', change),
    });
    const topicsOf = (channels: string[]) => channels.map((c) => this.keys.topicOfChannel(c)).filter((t) => t !== null);
    const subscriberOptions = {
      name: `tether:${this.nodeId}:sub`,
      batchSize: positive('subscribeBatchSize', options.subscribeBatchSize, 500),
      reconnectMaxDelayMs,
      probeIntervalMs: heartbeatMs,
      probeTimeoutMs: nodeTimeoutMs,
      timers,
      onMessage: this.#onEnvelope,
      onSubscribed: async (channels: string[]) => {
        const topics = topicsOf(channels);
        if (topics.length) await this.#syncPresence(topics);
      },
      onDown: (channels: string[]) => {
        this.#presence.desync(topicsOf(channels));
        this.emit('error', new Error('Redis pub/sub connection lost; re-subscribing (a gap event follows)'));
      },
      onRestored: (channels: string[]) => {
        const topics = topicsOf(channels);
        if (topics.length) this.emit('gap', topics);
        if (this.#sub.connected) this.emit('ready');
      },
      onError: this.#reportError,
    };
    this.#sub = cluster
      ? new ClusterSubscriber({ ...subscriberOptions, seed: (seeds as string[])[0], slots: () => cluster.slots() })
      : new RedisSubscriber({ ...subscriberOptions, url: options.url as string, sharded: false });
  }

  /** Whether this broker runs on a Redis Cluster. */
  get cluster(): boolean {
    return this.#cluster;
  }

  /** Whether fan-out uses SPUBLISH/SSUBSCRIBE (known after `start`). */
  get sharded(): boolean {
    return this.#publishCommand === 'SPUBLISH';
  }

  /** Connects, announces this node and subscribes; calling it again returns the same start. */
  start(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new Error('RedisBroker.start: broker is closed'));
    this.#starting ??= this.#start().catch((error: unknown) => {
      this.#liveness.stop();
      if (this.#cmd.isOpen) this.#cmd.destroy();
      if (this.#state === 'starting') {
        this.#state = 'new';
        this.#starting = null;
      }
      throw error;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    await this.#cmd.connect();
    this.#everConnected = true; // a cluster client emits no `ready` of its own
    let sharded = this.#sharded;
    if (sharded === 'auto' || this.#cluster) {
      const version = Number(/redis_version:(\d+)/.exec(await this.#cmd.serverInfo())?.[1]);
      if (this.#cluster && version < 7) throw new Error(`RedisBroker: a Redis Cluster needs Redis 7 or newer (sharded pub/sub), found ${version}`);
      sharded = version >= 7;
    }
    this.#publishCommand = sharded ? 'SPUBLISH' : 'PUBLISH';
    this.#sub.setSharded(sharded);
    // Leftovers of an earlier process that used this node id and died.
    await this.#presence.purge(this.nodeId);
    await this.#liveness.start();
    // The inbox channel is one more subscription: re-subscribed after a reconnect before `ready`, like a topic.
    const inbox = this.#sub.subscribe([this.keys.inbox(this.nodeId)]);
    await this.#sub.start();
    await inbox;
    if (this.#state !== 'starting') return; // closed meanwhile
    this.#state = 'running';
    this.emit('ready');
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const wasStarted = this.#state !== 'new';
    this.#state = 'closed';
    this.inbox.close();
    if (!wasStarted) return;
    await this.#starting?.catch(() => undefined);
    this.#liveness.stop();
    if (this.#syncRetry !== null) this.#timers.clearTimeout(this.#syncRetry);
    const steps = [() => this.#liveness.leave(), () => this.#presence.purge(this.nodeId), () => this.#sub.close()];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        this.#reportError(error as Error);
      }
    }
    if (this.#cmd.isOpen) await this.#cmd.close().catch(() => this.#cmd.destroy());
  }

  isReady(): boolean {
    return this.#state === 'running' && this.#cmd.isReady && this.#sub.connected;
  }

  async publish(message: Omit<BrokerMessage, 'origin' | 'position'>, history?: HistoryPolicy): Promise<BrokerMessage> {
    this.#assertRunning('publish');
    const { topic, event, payload, exclude } = message;
    const published: BrokerMessage = { topic, event, payload, origin: this.nodeId, exclude };
    const channel = this.keys.channel(topic);
    if (history) {
      published.position = await this.history.appendAndPublish(topic, event, payloadBytes(payload), history, {
        channel,
        origin: this.nodeId,
        exclude,
      });
    } else {
      await this.#cmd.sendCommand([this.#publishCommand, channel, encodeMessage(topic, this.nodeId, exclude, event, payload)]);
    }
    return published;
  }

  async subscribe(topics: string[]): Promise<void> {
    this.#assertRunning('subscribe');
    return this.#sub.subscribe(topics.map((t) => this.keys.channel(t)));
  }

  unsubscribe(topics: string[]): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    this.#presence.forget(topics);
    return this.#sub.unsubscribe(topics.map((t) => this.keys.channel(t)));
  }

  async publishPresence(change: Omit<PresenceChange, 'node'>): Promise<void> {
    this.#assertRunning('publishPresence');
    return this.#presence.publish({ topic: change.topic, key: change.key, kind: change.kind, meta: change.meta, node: this.nodeId });
  }

  /** Reads presence for freshly subscribed topics; failed reads are retried every heartbeat until Redis answers. */
  #syncPresence(topics: string[]): Promise<void> {
    return this.#presence.sync(topics).catch((error: Error) => {
      this.#reportError(error);
      for (const t of topics) this.#syncPending.add(t);
      this.#syncRetry ??= this.#timers.setTimeout(() => {
        this.#syncRetry = null;
        const wanted = [...this.#syncPending].filter((t) => this.#wants(t));
        this.#syncPending.clear();
        if (this.#state === 'running' && wanted.length) void this.#syncPresence(wanted);
      }, this.#heartbeatMs);
    });
  }

  /** Replaces a command connection that stopped answering; its pending commands fail instead of hanging. */
  #reconnectCommands(): void {
    if (this.#state !== 'running' || !this.#cmd.isOpen) return;
    this.emit('error', new Error('Redis command connection stopped answering; reconnecting'));
    this.#cmd.replace(this.#reportError);
  }

  #assertRunning(op: string): void {
    if (this.#state !== 'running') throw new Error(`RedisBroker.${op}: broker is ${this.#state === 'closed' ? 'closed' : 'not started'}`);
  }

  #wants(topic: string): boolean {
    return this.#sub.wanted.has(this.keys.channel(topic));
  }

  /** Publishes on the node's inbox channel; Redis's receiver count says whether any node listens under that id. */
  async #deliverInbox(envelope: InboxEnvelope): Promise<boolean> {
    if (!NODE_ID.test(envelope.to)) return false;
    const receivers = await this.#cmd.sendCommand([this.#publishCommand, this.keys.inbox(envelope.to), encodeInbox(envelope)]);
    return Number(receivers) > 0;
  }

  readonly #reportError = (error: Error): void => {
    this.emit('error', error);
  };

  readonly #onEnvelope = (buf: Buffer): void => {
    const envelope = decodeEnvelope(buf);
    if (envelope.kind === 'message') {
      if (this.#wants(envelope.message.topic)) this.emit('message', envelope.message);
      return;
    }
    if (envelope.kind === 'inbox') {
      if (envelope.envelope.to === this.nodeId) this.inbox.receive(envelope.envelope);
      return;
    }
    this.#liveness.noteAlive(envelope.change.node);
    this.#presence.receive(envelope.change);
  };
}
