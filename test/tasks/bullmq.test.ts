/**
 * The BullMQ bridge on real Redis and BullMQ: 200 jobs reporting progress, through two Tether nodes that both run
 * the bridge; every subscriber (one per node) sees each job's terminal event exactly once, with its final
 * progress. Queue and key names carry this process's pid; everything is removed afterwards.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { createClient } from 'redis';
import { RedisBroker } from '../../src/broker/redis.ts';
import { Socket } from '../../src/client/socket.ts';
import { watchQueue } from '../../src/tasks/client.ts';
import { BullMQBridge, bullConnection } from '../../src/tasks/server/bullmq-bridge.ts';
import { TaskHub } from '../../src/tasks/server/hub.ts';
import { RedisSnapshotStore } from '../../src/tasks/server/snapshots-redis.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startServer } from '../helpers/server-fixtures.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1' : undefined;
const prefix = `t${process.pid}tasks:`;
const bullPrefix = `t${process.pid}bull`;
const queueName = `jobs${process.pid}`;
const JOBS = 200;

const cleanups: (() => Promise<unknown>)[] = [];
const errors: string[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  if (skip) return;
  const client = createClient({ url });
  await client.connect();
  for (const match of [`${prefix}*`, `${bullPrefix}:*`]) {
    for await (const keys of client.scanIterator({ MATCH: match, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
  }
  await client.close();
});

async function node(name: string, queue = queueName, leaseMs?: number) {
  const broker = new RedisBroker({ url, keyPrefix: prefix, nodeId: `${name}-${process.pid}` });
  const hub = new TaskHub({ store: new RedisSnapshotStore({ url, keyPrefix: prefix }), onError: (err, context) => errors.push(`${context}: ${err.message}`) });
  const { server, url: wsUrl } = await startServer({ channels: hub.channels, broker });
  hub.attach(server);
  const bridge = new BullMQBridge({ hub, queues: [queue], redisUrl: url, bullPrefix, keyPrefix: prefix, nodeId: broker.nodeId, statusIntervalMs: 200, ...(leaseMs ? { leaseMs } : {}), onError: (err, context) => errors.push(`${context}: ${err.message}`) });
  await bridge.start();
  cleanups.push(() => server.close(), () => broker.close(), () => hub.close(), () => bridge.close());
  return { hub, bridge, wsUrl };
}

test('200 jobs through two nodes: each subscriber sees every terminal event exactly once, with the final progress', { skip, timeout: 60_000 }, async () => {
  const nodes = [await node('a'), await node('b')];
  assert.equal(nodes.filter((n) => n.bridge.isLeader(queueName)).length, 1, 'exactly one node forwards the queue');
  const watchers = nodes.map(({ wsUrl }) => {
    const socket = new Socket(wsUrl, { page: false });
    socket.connect();
    cleanups.push(() => socket.disconnect());
    const terminal = new Map<string, string[]>();
    let counters = 0;
    const channel = watchQueue(socket, queueName);
    const record = (kind: string) => (t: { task_id: string; progress?: number }) => {
      const list = terminal.get(t.task_id) ?? [];
      list.push(`${kind}@${t.progress}`);
      terminal.set(t.task_id, list);
    };
    channel.on('task_completed', record('completed'));
    channel.on('task_failed', record('failed'));
    channel.on('queue_status_changed', (s) => (counters = s.completed_tasks + s.failed_tasks));
    return { terminal, channel, counters: () => counters };
  });
  await pollUntil(() => watchers.every((w) => w.channel.state === 'joined'), 'both watchers joined');

  const connection = bullConnection(url);
  const queue = new Queue(queueName, { connection, prefix: bullPrefix });
  const worker = new Worker(
    queueName,
    async (job) => {
      const fails = Number(job.id!.slice(1)) % 20 === 0;
      for (const p of fails ? [20, 40, 60] : [25, 50, 75, 100]) await job.updateProgress(p);
      if (fails) throw new Error(`job ${job.id} failed on purpose`);
      return 'ok';
    },
    { connection, prefix: bullPrefix, concurrency: 25 },
  );
  cleanups.push(() => queue.obliterate({ force: true }), () => queue.close(), () => worker.close());
  await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'work', data: { i }, opts: { jobId: `j${i + 1}` } })));

  await pollUntil(() => watchers.every((w) => w.terminal.size === JOBS), 'every terminal event at both watchers', 45_000);
  await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would arrive within this
  for (const [i, w] of watchers.entries()) {
    for (let id = 1; id <= JOBS; id++) {
      const expected = id % 20 === 0 ? ['failed@60'] : ['completed@100'];
      assert.deepEqual(w.terminal.get(`j${id}`), expected, `watcher ${i}, job ${id}`);
    }
  }
  await pollUntil(() => watchers.every((w) => w.counters() === JOBS), 'the queue counters reach 200 finished jobs', 10_000);
  const snapshot = await nodes[1]!.hub.store.getTask(queueName, 'j20');
  assert.deepEqual([snapshot?.status, snapshot?.progress], ['failed', 60], 'the snapshot every node reads holds the final state');
  assert.deepEqual(errors, []);
});

test('the forwarding node stops mid-run: the other takes the lease over and forwards from its cursor, nothing lost or repeated', { skip, timeout: 60_000 }, async () => {
  const queue = `${queueName}fo`;
  const nodes = [await node('c', queue, 450), await node('d', queue, 450)];
  const leader = nodes.find((n) => n.bridge.isLeader(queue))!;
  const follower = nodes.find((n) => n !== leader)!;
  const socket = new Socket(follower.wsUrl, { page: false });
  socket.connect();
  cleanups.push(() => socket.disconnect());
  const done = new Map<string, number>();
  const channel = watchQueue(socket, queue);
  channel.on('task_completed', (t) => done.set(t.task_id, (done.get(t.task_id) ?? 0) + 1));
  await pollUntil(() => channel.state === 'joined', 'joined');

  const connection = bullConnection(url);
  const q = new Queue(queue, { connection, prefix: bullPrefix });
  const worker = new Worker(queue, async (job) => {
    await job.updateProgress(100);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }, { connection, prefix: bullPrefix, concurrency: 4 });
  cleanups.push(() => q.obliterate({ force: true }), () => q.close(), () => worker.close());
  await q.addBulk(Array.from({ length: 100 }, (_, i) => ({ name: 'work', data: {}, opts: { jobId: `f${i + 1}` } })));
  await pollUntil(() => done.size >= 20, 'some completions through the first leader');
  await leader.bridge.close();
  await pollUntil(() => follower.bridge.isLeader(queue), 'the follower takes the lease over', 5000);
  await pollUntil(() => done.size === 100, 'every completion', 30_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual([...done.values()].filter((n) => n !== 1), [], 'each completion exactly once');
  assert.deepEqual(errors, []);
});
