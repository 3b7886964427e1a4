/** `reached` counts the cluster: two nodes on one Redis, a subscriber on one, a publish from the other. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient } from 'redis';
import { RedisBroker } from '../../src/broker/redis.ts';
import { Socket } from '../../src/client/socket.ts';
import { watchQueue } from '../../src/tasks/client.ts';
import { RedisSubscriberCensus } from '../../src/tasks/server/census-redis.ts';
import { TaskHub } from '../../src/tasks/server/hub.ts';
import { RedisSnapshotStore } from '../../src/tasks/server/snapshots-redis.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startServer } from '../helpers/server-fixtures.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1' : undefined;
const prefix = `t${process.pid}census:`;
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  if (skip) return;
  const client = createClient({ url });
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
  await client.close();
});

async function node(name: string) {
  const broker = new RedisBroker({ url, keyPrefix: prefix, nodeId: `${name}-${process.pid}` });
  const census = new RedisSubscriberCensus({ url, keyPrefix: prefix, nodeId: broker.nodeId, intervalMs: 50 });
  const hub = new TaskHub({ store: new RedisSnapshotStore({ url, keyPrefix: prefix }), census });
  const { server, url: wsUrl } = await startServer({ channels: hub.channels, broker });
  hub.attach(server);
  cleanups.push(() => server.close(), () => broker.close(), () => hub.close());
  return { hub, census, wsUrl };
}

test('a publish on one node counts the subscribers of the other', { skip }, async () => {
  const [a, b] = [await node('a'), await node('b')];
  const socket = new Socket(b.wsUrl, { page: false });
  socket.connect();
  cleanups.push(() => socket.disconnect());
  const channel = watchQueue(socket, 'mail');
  const got: string[] = [];
  channel.on('task_created', (t) => got.push(t.task_id));
  await pollUntil(() => channel.state === 'joined', 'joined on node b');
  await pollUntil(() => a.census.remote('tasks:mail') === 1, "node a's census sees node b's subscriber");
  const result = await a.hub.publish({ type: 'task_created', task: { task_id: 'x', queue: 'mail', status: 'created' } });
  assert.deepEqual(result, { ok: true, reached: 1, delivered: true });
  await pollUntil(() => got.length === 1, 'delivery across nodes');
  await b.hub.close();
  await pollUntil(() => a.census.remote('tasks:mail') === 0, 'a closed node stops counting');
});
