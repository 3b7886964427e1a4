/** A real Redis pub/sub drop (CLIENT KILL): what a node missed meanwhile reaches its clients from the history, in order, once. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from 'redis';
import { RedisBroker } from '../../src/broker/redis.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { createServer } from '../../src/server/index.ts';
import { join, RawClient } from '../helpers/server-fixtures.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1: Redis is not available' : false;
const feed: ChannelDefinition = { join: () => ok(), history: { maxMessages: 100 } };

test('messages published while a node was cut from Redis pub/sub are replayed to its clients after the gap', { skip }, async (t) => {
  const keyPrefix = `tether-gap-${Math.random().toString(36).slice(2, 10)}:`;
  const node = async () => {
    const broker = new RedisBroker({ url, keyPrefix });
    const server = createServer({ port: 0, host: '127.0.0.1', broker, channels: { 'feed:*': feed } });
    const { url: wsUrl } = await server.listen();
    t.after(async () => {
      await server.close();
      await broker.close();
    });
    return { broker, server, endpoint: `${wsUrl}/websocket?vsn=2.0.0` };
  };
  const a = await node();
  const b = await node();
  const client = await RawClient.connect(b.endpoint);
  t.after(() => client.close());
  await join(client, 'feed:g', '1');
  a.server.broadcast('feed:g', 'm', { n: 0 });
  assert.deepEqual(await client.json(), [null, null, 'feed:g', 'm', { n: 0 }]);

  const gaps: string[][] = [];
  b.broker.on('gap', (topics) => gaps.push(topics));
  // Published the moment node B learns its pub/sub connection is gone, so B's subscription cannot see them.
  let sent = 0;
  b.broker.on('error', (err) => {
    if (sent > 0 || !/pub\/sub connection lost/.test(err.message)) return;
    for (sent = 1; sent <= 20; sent++) a.server.broadcast('feed:g', 'm', { n: sent });
  });
  const admin = createClient({ url });
  await admin.connect();
  t.after(() => admin.close());
  const line = String(await admin.sendCommand(['CLIENT', 'LIST'])).split('\n').find((l) => l.includes(` name=tether:${b.broker.nodeId}:sub `));
  const id = line?.match(/\bid=(\d+)/)?.[1];
  assert.ok(id, 'node B has a named pub/sub connection');
  await admin.sendCommand(['CLIENT', 'KILL', 'ID', id]);

  const got: number[] = [];
  for (let i = 0; i < 20; i++) got.push(((await client.json(5000)) as [null, null, string, string, { n: number }])[4].n);
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i + 1));
  assert.ok(await client.silentFor(200), 'no duplicate');
  assert.deepEqual(gaps, [['feed:g']]);
});
