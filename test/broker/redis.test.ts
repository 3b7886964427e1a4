import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createClient } from 'redis';
import { RedisBroker } from '../../src/broker/redis.ts';
import type { Broker } from '../../src/broker/types.ts';
import { runBrokerSuite } from './broker-suite.ts';
import { redisBrokerDriver } from './redis-driver.ts';
import { createFaultyLink } from '../../src/testing/index.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? `TETHER_SKIP_REDIS=1: Redis at ${url} not used, Redis broker scenarios skipped` : undefined;

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

async function dropSubscriber(broker: Broker): Promise<void> {
  const client = await redis();
  const name = `tether:${broker.nodeId}:sub`;
  const line = String(await client.sendCommand(['CLIENT', 'LIST'])).split('\n').find((l) => l.includes(` name=${name} `));
  const id = line?.match(/\bid=(\d+)/)?.[1];
  if (!id) throw new Error(`no Redis connection named ${name}`);
  await client.sendCommand(['CLIENT', 'KILL', 'ID', id]);
}

for (const sharded of [true, false]) {
  runBrokerSuite(
    redisBrokerDriver({
      name: `redis, ${sharded ? 'sharded' : 'classic'} pub/sub`,
      skip,
      connection: () => ({ url, sharded }),
      deleteKey: async (key) => (await redis()).del(key),
      cleanup: deleteNamespace,
      dropConnection: dropSubscriber,
      async teardown() {
        await admin?.close();
        admin = null;
      },
    }),
  );
}

describe('RedisBroker options and start-up', () => {
  after(async () => {
    await admin?.close();
    admin = null;
  });

  it('rejects bad options with a TypeError naming the option', () => {
    assert.throws(() => new RedisBroker({ url: 'http://x' }), /url must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.throws(() => new RedisBroker({ url, heartbeatMs: 1000, nodeTimeoutMs: 1000 }), /nodeTimeoutMs \(1000\) must exceed heartbeatMs/);
    assert.throws(() => new RedisBroker({ url, keyPrefix: 'a{b}:' }), /keyPrefix must not contain/);
    assert.throws(() => new RedisBroker({ url, nodeId: 'has space' }), /nodeId must match/);
    assert.throws(() => new RedisBroker({ url, subscribeBatchSize: 0 }), /subscribeBatchSize must be a positive number/);
    assert.throws(() => new RedisBroker({}), /url must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.throws(() => new RedisBroker({ url, cluster: [url] }), /url \(one Redis\) or cluster \(seed nodes\), not both/);
    assert.throws(() => new RedisBroker({ cluster: [] }), /cluster must be a non-empty list/);
    assert.throws(() => new RedisBroker({ cluster: ['http://x:1'] }), /cluster must be a non-empty list/);
    assert.throws(() => new RedisBroker({ cluster: [url], sharded: false }), /sharded must not be false on a cluster/);
  });

  it('uses sharded pub/sub on Redis 7 when left to auto', { skip }, async () => {
    const broker = new RedisBroker({ url, keyPrefix: `t${process.pid}auto:` });
    await broker.start();
    const version = /redis_version:(\d+)/.exec(await (await redis()).info('server'))?.[1];
    assert.equal(broker.sharded, Number(version) >= 7);
    await broker.close();
  });

  it('coalesces the subscribe calls of one turn into (S)SUBSCRIBE commands of subscribeBatchSize channels', { skip }, async () => {
    const prefix = `t${process.pid}batch:`;
    const broker = new RedisBroker({ url, keyPrefix: prefix, subscribeBatchSize: 500 });
    await broker.start();
    const client = await redis();
    const line = String(await client.sendCommand(['CLIENT', 'LIST'])).split('\n').find((l) => l.includes(` name=tether:${broker.nodeId}:sub `));
    const addr = / addr=(\S+)/.exec(line ?? '')?.[1];
    assert.ok(addr, 'the pub/sub connection is named');
    const monitor = createClient({ url });
    await monitor.connect();
    const commands: string[] = [];
    await monitor.monitor((line: string) => {
      if (line.includes(addr!) && /"s?(un)?subscribe"/i.test(line)) commands.push(line.split('"')[1].toLowerCase());
    });
    const topics = Array.from({ length: 1200 }, (_, i) => `room:b${i}`);
    await Promise.all(topics.map((t) => broker.subscribe([t])));
    await Promise.all(topics.map((t) => broker.unsubscribe([t])));
    await new Promise((r) => setTimeout(r, 100));
    const sub = broker.sharded ? 'ssubscribe' : 'subscribe';
    assert.deepEqual(commands, [sub, sub, sub, `${broker.sharded ? 's' : ''}unsubscribe`, `${broker.sharded ? 's' : ''}unsubscribe`, `${broker.sharded ? 's' : ''}unsubscribe`]);
    monitor.destroy();
    await broker.close();
  });

  it('fails start at once when Redis is unreachable, and can still be closed', async () => {
    const broker = new RedisBroker({ url: 'redis://127.0.0.1:1' });
    broker.on('error', () => {});
    await assert.rejects(broker.start(), /ECONNREFUSED/);
    assert.equal(broker.isReady(), false);
    await assert.rejects(broker.publish({ topic: 't', event: 'e', payload: {} }), /not started/);
    await broker.close();
  });
});

/**
 * The testing kit's faulty link in front of Redis. `freeze()` black-holes it (bytes held, nothing closed) until
 * the broker has opened as many new connections as were open at that moment (it gave the silent ones up), then
 * heals it, so the replacements work: what a dead route or a lost NAT entry does to open connections only.
 */
async function blackHoleRelay(t: { after(fn: () => unknown): void }): Promise<{ url: string; freeze(): void }> {
  const target = new URL(url);
  const link = await createFaultyLink({ target: `${target.hostname}:${target.port || 6379}` }, t);
  let awaited = 0; // replacements still to come while frozen
  link.on('connection', () => {
    if (awaited > 0 && --awaited === 0) link.heal();
  });
  return {
    url: `redis://127.0.0.1:${link.port}`,
    freeze() {
      awaited = link.connections;
      link.set('blackhole');
    },
  };
}

describe('RedisBroker on a link that goes silent', { skip }, () => {
  it('notices a black-holed link (unanswered PING and heartbeat), replaces both connections and reports the gap', async (t) => {
    const relay = await blackHoleRelay(t);
    const prefix = `t${process.pid}hole:`;
    const broker = new RedisBroker({ url: relay.url, keyPrefix: prefix, heartbeatMs: 100, nodeTimeoutMs: 400 });
    broker.on('error', () => {});
    t.after(() => broker.close());
    await broker.start();
    await broker.subscribe(['room:h']);
    const gaps: string[][] = [];
    broker.on('gap', (topics) => gaps.push(topics));
    relay.freeze();
    const frozenAt = Date.now();
    while (gaps.length === 0 && Date.now() - frozenAt < 3000) await new Promise((r) => setTimeout(r, 10));
    const tookMs = Date.now() - frozenAt;
    assert.deepEqual(gaps, [['room:h']]);
    assert.ok(tookMs < 400 + 100 + 1000, `gap reported after ${tookMs} ms`);
    const got: string[] = [];
    broker.on('message', (m) => got.push(m.event));
    // A second broker publishes; the first one's replaced connections receive it.
    const other = new RedisBroker({ url, keyPrefix: prefix });
    t.after(() => other.close());
    await other.start();
    await other.publish({ topic: 'room:h', event: 'after', payload: {} });
    while (got.length === 0 && Date.now() - frozenAt < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, ['after']);
    await broker.publish({ topic: 'room:h', event: 'mine', payload: {} });
    while (got.length === 1 && Date.now() - frozenAt < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, ['after', 'mine']);
    await other.close();
    await broker.close();
    await deleteNamespace(prefix.slice(0, -1));
    await admin?.close();
    admin = null;
  });
});

