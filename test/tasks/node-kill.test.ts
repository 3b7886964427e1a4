/**
 * Two `tether serve --redis --tasks` processes; the one forwarding the queue is killed (SIGKILL) mid-run. Its
 * lease runs out (6 s) and the other forwards from the dead leader's last cursor, skipping per task what the
 * snapshots show the dead leader had already broadcast: the watcher on the surviving node sees every job reach
 * completed with its final progress, each completion once. Half the jobs are held until the kill, so the
 * takeover always has work to forward whatever the machine's load; every wait is on a condition, not a time.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { createClient } from 'redis';
import { Socket } from '../../src/client/socket.ts';
import { watchQueue } from '../../src/tasks/client.ts';
import { bullConnection } from '../../src/tasks/server/bullmq-bridge.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startServe, type Running } from '../helpers/serve-process.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1' : undefined;
const prefix = `t${process.pid}kill:`;
const queueName = `kill${process.pid}`;
const bullPrefix = 'bull';
const JOBS = 60;

after(async () => {
  if (skip) return;
  const client = createClient({ url: redisUrl });
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
  await client.close();
});

test('the forwarding node is killed mid-run: the watcher on the other node still sees every completion', { skip, timeout: 60_000 }, async () => {
  const args = ['--redis', redisUrl, '--redis-prefix', prefix, '--tasks', queueName];
  const first = await startServe([...args, '--node-id', `first-${process.pid}`]);
  const lease = createClient({ url: redisUrl });
  await lease.connect();
  await pollUntil(async () => (await lease.get(`${prefix}tasks:{${queueName}}:leader`)) === `first-${process.pid}`, 'the first node holds the lease');
  const second: Running = await startServe([...args, '--node-id', `second-${process.pid}`]);
  const socket = new Socket(second.wsUrl, { page: false });
  socket.connect();
  const connection = bullConnection(redisUrl);
  const queue = new Queue(queueName, { connection, prefix: bullPrefix });
  // Jobs k31..k60 wait for the kill: they are certain to complete through the new leader.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const worker = new Worker(queueName, async (job) => {
    if (Number(job.id!.slice(1)) > JOBS / 2) await released;
    for (const p of [50, 100]) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await job.updateProgress(p);
    }
  }, { connection, prefix: bullPrefix, concurrency: 3 });
  try {
    const done = new Map<string, number[]>();
    const channel = watchQueue(socket, queueName);
    channel.on('task_completed', (t) => done.set(t.task_id, [...(done.get(t.task_id) ?? []), t.progress ?? -1]));
    await pollUntil(() => channel.state === 'joined', 'joined on the second node');
    await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'w', data: {}, opts: { jobId: `k${i + 1}` } })));
    await pollUntil(() => done.size >= 5, 'some completions through the first node', 30_000);
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;
    release();
    await pollUntil(async () => (await lease.get(`${prefix}tasks:{${queueName}}:leader`)) === `second-${process.pid}`, 'the second node took the lease', 30_000);
    await pollUntil(() => done.size === JOBS, 'every completion after the takeover', 30_000);
    for (const [id, seen] of done) assert.ok(seen.every((p) => p === 100), `${id}: final progress ${seen.join(',')}`);
    const repeated = [...done].filter(([, seen]) => seen.length > 1).map(([id]) => id);
    assert.deepEqual(repeated, [], 'no completion delivered twice');
  } finally {
    await socket.disconnect();
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await lease.close();
    second.child.kill('SIGTERM');
    await second.exited;
  }
});
