import { after } from 'node:test';
import { createClient } from 'redis';
import { RedisBroker } from '../../src/broker/redis.ts';
import { runChannelScenarios } from './channel-scenarios.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? `TETHER_SKIP_REDIS=1: Redis at ${url} not used, Redis channel scenarios skipped` : undefined;

let admin: ReturnType<typeof createClient> | null = null;
after(async () => {
  await admin?.close();
});

runChannelScenarios({
  name: 'redis',
  skip,
  broker: (namespace) => new RedisBroker({ url, keyPrefix: `${namespace}:` }),
  async cleanup(namespace) {
    if (!admin) {
      admin = createClient({ url });
      await admin.connect();
    }
    for await (const keys of admin.scanIterator({ MATCH: `${namespace}:*`, COUNT: 500 })) if (keys.length) await admin.del(keys);
  },
  multiNode: true,
});
