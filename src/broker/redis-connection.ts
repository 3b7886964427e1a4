/**
 * The broker's command connection, to one Redis or to a Redis Cluster. Everything above it speaks raw commands
 * through `sendCommand` (`CommandRunner`); on a cluster each command goes to the master of its first key's slot
 * (node-redis's cluster client follows MOVED/ASK and rediscovers the topology after a failover).
 */
import { createClient, createCluster, type RedisArgument } from 'redis';
import type { CommandRunner } from './redis-scripts.ts';

export interface CommandConnection extends CommandRunner {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  /** `INFO server` of one node (any node of a cluster). */
  serverInfo(): Promise<string>;
  /** Drops and reopens the connection after it stopped answering (one Redis; a cluster's node clients heal themselves). */
  replace(onError: (error: Error) => void): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
}

/** A slot range of a cluster and the address of its master. */
export interface SlotRange {
  from: number;
  to: number;
  host: string;
  port: number;
}

export interface ConnectionOptions {
  name: string;
  /** Backoff for a lost connection; returning an Error gives up (used before the first successful connect). */
  reconnectStrategy(retries: number, cause: Error): number | Error;
  /** Cluster: re-read the slot map this long after a node starts reconnecting (a failover moves its slots). */
  topologyRefreshMs?: number;
}

/**
 * Which key a command is routed by: the first of EVAL/EVALSHA's keys, else the first argument (every other
 * command the broker sends names its key, or its shard channel, first).
 */
export function routingKey(args: ReadonlyArray<RedisArgument>): RedisArgument | undefined {
  const name = String(args[0]).toUpperCase();
  if (name === 'EVAL' || name === 'EVALSHA') return Number(String(args[2])) > 0 ? args[3] : undefined;
  return args[1];
}

export function singleConnection(url: string, options: ConnectionOptions): CommandConnection {
  const client = createClient({
    url,
    name: options.name,
    // Publishes fail at once while Redis is away instead of queueing behind an outage.
    disableOfflineQueue: true,
    socket: { reconnectStrategy: options.reconnectStrategy },
  });
  return {
    get isOpen() {
      return client.isOpen;
    },
    get isReady() {
      return client.isReady;
    },
    connect: () => client.connect(),
    close: () => client.close(),
    destroy: () => client.destroy(),
    serverInfo: () => client.info('server'),
    replace(onError) {
      client.destroy();
      client.connect().catch(onError);
    },
    sendCommand: (args, commandOptions) => client.sendCommand(args, commandOptions),
    on(event: string, listener: (error: Error) => void) {
      return client.on(event, listener);
    },
  };
}

export function clusterConnection(seeds: string[], options: ConnectionOptions): CommandConnection & { slots(): Promise<SlotRange[]> } {
  const first = new URL(seeds[0]);
  const cluster = createCluster({
    rootNodes: seeds.map((url) => ({ url })),
    topologyRefreshOnReconnectionAttemptStrategy: options.topologyRefreshMs,
    // Discovered nodes get the seeds' credentials and TLS (a cluster shares them), and the same fail-fast policy.
    defaults: {
      name: options.name,
      disableOfflineQueue: true,
      username: first.username ? decodeURIComponent(first.username) : undefined,
      password: first.password ? decodeURIComponent(first.password) : undefined,
      socket: { reconnectStrategy: options.reconnectStrategy, tls: first.protocol === 'rediss:' ? true : undefined },
    } as Parameters<typeof createCluster>[0]['defaults'],
  });
  return {
    get isOpen() {
      return cluster.isOpen;
    },
    get isReady() {
      return cluster.isReady;
    },
    connect: () => cluster.connect(),
    close: () => cluster.close(),
    destroy: () => cluster.destroy(),
    serverInfo: () => cluster.sendCommand(undefined, true, ['INFO', 'server']) as Promise<string>,
    replace(onError) {
      onError(new Error('Redis Cluster: a command went unanswered; the cluster client reconnects its nodes itself'));
    },
    sendCommand: <T>(args: ReadonlyArray<RedisArgument>, commandOptions?: { typeMapping?: Record<number, unknown> }) =>
      cluster.sendCommand(routingKey(args), false, [...args], commandOptions as never) as Promise<T>,
    on(event: string, listener: (error: Error) => void) {
      return cluster.on(event, listener);
    },
    async slots() {
      const reply = (await cluster.sendCommand(undefined, true, ['CLUSTER', 'SLOTS'])) as unknown[];
      return reply.map((entry) => {
        const [from, to, master] = entry as [number, number, [string, number]];
        return { from: Number(from), to: Number(to), host: String(master[0]), port: Number(master[1]) };
      });
    },
  };
}
