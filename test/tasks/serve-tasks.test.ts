/** `tether serve` with the task flags, as a real process: JWT users, POST /api/publish, and --tasks without Redis. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { createClient } from 'redis';
import { Socket } from '../../src/client/socket.ts';
import { watchQueue, watchUser } from '../../src/tasks/client.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startServe } from '../helpers/serve-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const secret = 's'.repeat(40);

test('--tasks without any Redis says so and exits 2', async () => {
  const { REDIS_URL: _redis, ...inherited } = process.env;
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0', '--tasks', 'emails'], { cwd: root, env: inherited, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 2, err);
  assert.match(err, /tasks: the BullMQ bridge needs Redis/);
});

test('serve --jwt-secret --publish-token: a worker publishes over HTTP to one signed-in user, answered with the count reached', async () => {
  const running = await startServe(['--jwt-secret', secret, '--publish-token', 'pub', '--publish-max-bytes', '2048']);
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('ann').setExpirationTime('5m').sign(new TextEncoder().encode(secret));
  const socket = new Socket(running.wsUrl, { params: { token }, page: false });
  socket.connect();
  try {
    const channel = watchUser(socket, 'ann');
    const got: string[] = [];
    channel.on('user_notification', (n) => got.push(n.message));
    await pollUntil(() => channel.state === 'joined', 'joined user:ann');
    const post = (body: string, auth = 'Bearer pub') => fetch(`${running.httpUrl}/api/publish`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body });
    const event = { type: 'user_notification', user_id: 'ann', notification: { level: 'success', title: 'Export', message: 'ready', timestamp: 1 } };
    const ok = await post(JSON.stringify(event));
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { reached: number }).reached, 1);
    await pollUntil(() => got.length === 1, 'the notification');
    assert.deepEqual(got, ['ready']);
    assert.equal((await post(JSON.stringify(event), 'Bearer wrong')).status, 401);
    assert.equal((await post(JSON.stringify({ ...event, user_id: 'has space' }))).status, 400);
    assert.equal((await post(JSON.stringify({ ...event, pad: 'x'.repeat(4096) }))).status, 413);
  } finally {
    await socket.disconnect();
  }
});

test('serve --redis --tasks: a BullMQ job reaches a watcher with its final progress', { skip: process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1' : undefined }, async () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const queueName = `serve${process.pid}`;
  const bullPrefix = 'bull';
  const running = await startServe(['--redis', redisUrl, '--redis-prefix', `t${process.pid}serve:`, '--tasks', queueName]);
  const { Queue, Worker } = await import('bullmq');
  const { bullConnection } = await import('../../src/tasks/server/bullmq-bridge.ts');
  const connection = bullConnection(redisUrl);
  const queue = new Queue(queueName, { connection, prefix: bullPrefix });
  const worker = new Worker(queueName, async (job) => {
    await job.updateProgress(30);
    await job.updateProgress(100);
  }, { connection, prefix: bullPrefix });
  const socket = new Socket(running.wsUrl, { page: false });
  socket.connect();
  try {
    assert.match(running.output(), new RegExp(`bullmq\\s+${queueName}`));
    const channel = watchQueue(socket, queueName);
    const done: string[] = [];
    channel.on('task_completed', (t) => done.push(`${t.task_id}@${t.progress}`));
    await pollUntil(() => channel.state === 'joined', 'joined');
    await queue.add('one', {}, { jobId: 'only' });
    await pollUntil(() => done.length === 1, 'the completion', 15_000);
    assert.deepEqual(done, ['only@100']);
  } finally {
    await socket.disconnect();
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    running.child.kill('SIGTERM');
    await running.exited;
    const client = createClient({ url: redisUrl });
    await client.connect();
    for await (const keys of client.scanIterator({ MATCH: `t${process.pid}serve:*`, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
    await client.close();
  }
});
