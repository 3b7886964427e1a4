import { createClient } from 'redis';
import { RedisBroker } from '../../src/broker/redis.ts';
import type { Broker } from '../../src/broker/types.ts';
import { runBrokerSuite } from './broker-suite.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? `TETHER_SKIP_REDIS=1: Redis at ${url} not used, Redis broker scenarios skipped` : undefined;
const HEARTBEAT_MS = 100;
const NODE_TIMEOUT_MS = 500;

let admin: ReturnType<typeof createClient> | null = null;
async function redis(): Promise<ReturnType<typeof createClient>> {
  if (!admin) {
    admin = createClient({ url });
    await admin.connect();
  }
  return admin;
}

async function deleteNamespace(namespace: string): Promise<void> {
  const client = await redis();
  for await (const keys of client.scanIterator({ MATCH: `${namespace}:*`, COUNT: 500 })) {
    if (keys.length) await client.del(keys);
  }
}

runBrokerSuite({
  name: 'redis',
  skip,
  create: (namespace, options) =>
    new RedisBroker({ url, keyPrefix: `${namespace}:`, nodeId: options?.nodeId, heartbeatMs: HEARTBEAT_MS, nodeTimeoutMs: NODE_TIMEOUT_MS }),
  advance: (_namespace, ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ttlMs: 150,
  async loseHistory(_namespace, broker, topic) {
    await (await redis()).del((broker as RedisBroker).keys.historyStream(topic));
    return broker.history;
  },
  cleanup: deleteNamespace,
  cluster: {
    async dropConnection(broker: Broker) {
      const client = await redis();
      const name = `tether:${broker.nodeId}:sub`;
      const line = String(await client.sendCommand(['CLIENT', 'LIST'])).split('\n').find((l) => l.includes(` name=${name} `));
      const id = line?.match(/\bid=(\d+)/)?.[1];
      if (!id) throw new Error(`no Redis connection named ${name}`);
      await client.sendCommand(['CLIENT', 'KILL', 'ID', id]);
    },
    crash: (broker: Broker) => (broker as RedisBroker).stopHeartbeat(),
    deathWithinMs: NODE_TIMEOUT_MS + 2 * HEARTBEAT_MS + 300,
  },
  async teardown() {
    await admin?.close();
    admin = null;
  },
});
