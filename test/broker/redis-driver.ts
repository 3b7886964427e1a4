/**
 * The broker-suite driver both Redis files share (one server, a cluster): brokers with pausable heartbeats so a
 * `crash` is a pause, real-time TTLs, and history lost by deleting the topic's stream. Each file gives its
 * connection, how to delete a key, and how to cut a broker's pub/sub connection.
 */
import { RedisBroker, type RedisBrokerOptions } from '../../src/broker/redis.ts';
import type { Broker } from '../../src/broker/types.ts';
import { PausableTimers } from '../helpers/pausable-timers.ts';
import type { BrokerDriver } from './broker-suite.ts';

const HEARTBEAT_MS = 100;
const NODE_TIMEOUT_MS = 500;

export interface RedisDriverParts {
  name: string;
  skip?: string;
  /** How the brokers reach Redis: `url` (and `sharded`) or `cluster`. */
  connection(): Pick<RedisBrokerOptions, 'url' | 'cluster' | 'sharded'>;
  deleteKey(key: string): Promise<unknown>;
  cleanup(namespace: string): Promise<void>;
  dropConnection(broker: Broker): Promise<void>;
  teardown?(): Promise<void>;
}

export function redisBrokerDriver(parts: RedisDriverParts): BrokerDriver {
  const timersOf = new WeakMap<Broker, PausableTimers>();
  return {
    name: parts.name,
    skip: parts.skip,
    create(namespace, options) {
      const timers = new PausableTimers();
      const broker = new RedisBroker({
        ...parts.connection(),
        keyPrefix: `${namespace}:`,
        nodeId: options?.nodeId,
        historyMaxMessages: options?.historyMaxMessages,
        historyMaxMessageBytes: options?.historyMaxMessageBytes,
        inboxMaxMessageBytes: options?.inboxMaxMessageBytes,
        inboxMaxPendingRequests: options?.inboxMaxPendingRequests,
        heartbeatMs: HEARTBEAT_MS,
        nodeTimeoutMs: NODE_TIMEOUT_MS,
        timers,
      });
      timersOf.set(broker, timers);
      return broker;
    },
    advance: (_namespace, ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    ttlMs: 150,
    async loseHistory(_namespace, broker, topic) {
      await parts.deleteKey((broker as RedisBroker).keys.historyStream(topic));
      return broker.history;
    },
    cleanup: parts.cleanup,
    cluster: {
      dropConnection: parts.dropConnection,
      crash: (broker: Broker) => {
        timersOf.get(broker)!.paused = true;
      },
      revive: (broker: Broker) => {
        timersOf.get(broker)!.paused = false;
      },
      deathWithinMs: NODE_TIMEOUT_MS + 2 * HEARTBEAT_MS + 300,
    },
    teardown: parts.teardown,
  };
}
