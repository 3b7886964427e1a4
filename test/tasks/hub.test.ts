/** TaskHub on a real server and real sockets: snapshots on join, typed helpers, user topics, counts reached. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { Socket } from '../../src/client/socket.ts';
import type { Channel } from '../../src/client/channel.ts';
import { watchEventType, watchQueueStatus, watchTask, watchUser } from '../../src/tasks/client.ts';
import { jwtConnect } from '../../src/tasks/server/auth.ts';
import { TaskHub } from '../../src/tasks/server/hub.ts';
import { startServer } from '../helpers/server-fixtures.ts';
import { pollUntil } from '../helpers/poll.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const hub = new TaskHub({ progressPerSecond: false });
const { server, url } = await startServer({ channels: hub.channels, connect: jwtConnect({ secret, token: 'shared' }) });
hub.attach(server);
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) await s.disconnect();
  await hub.close();
});

const tokenFor = (sub: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(new TextEncoder().encode(secret));

function connect(token: string): Socket {
  const socket = new Socket(url, { params: { token }, page: false });
  sockets.push(socket);
  socket.connect();
  return socket;
}

function joinOutcome<E extends object>(channel: Channel<E>): Promise<string> {
  return new Promise((resolve) => {
    channel.onLifecycle('state', ({ reason }) => {
      if (reason === 'joined' || reason === 'join_refused') resolve(reason);
    });
  });
}

test('a late joiner of task:<queue>:<id> gets the current snapshot first, then live updates', async () => {
  const socket = connect('shared');
  assert.deepEqual(await hub.publish({ type: 'task_created', task: { task_id: '7', queue: 'emails', status: 'created' } }), { ok: true, reached: 0, delivered: true });
  await hub.publish({ type: 'task_updated', task: { task_id: '7', queue: 'emails', status: 'progress', progress: 40 } });
  await pollUntil(async () => (await hub.store.getTask('emails', '7'))?.progress === 40, 'snapshot stored');
  const channel = watchTask(socket, 'emails', '7');
  const seen: string[] = [];
  channel.on('snapshot', (s) => seen.push(`snapshot ${s.status} ${'progress' in s ? s.progress : ''}`));
  channel.on('task_completed', (t) => seen.push(`completed ${t.progress}`));
  assert.equal(await joinOutcome(channel), 'joined');
  await pollUntil(() => seen.length === 1, 'the snapshot');
  const result = await hub.publish({ type: 'task_completed', task: { task_id: '7', queue: 'emails', status: 'completed', progress: 100 } });
  assert.deepEqual(result, { ok: true, reached: 1, delivered: true });
  await pollUntil(() => seen.length === 2, 'the completion');
  assert.deepEqual(seen, ['snapshot progress 40', 'completed 100']);
});

test('queue:<name> joins with the last counters; events:<type> gets that type from every queue', async () => {
  const socket = connect('shared');
  await hub.publish({ type: 'queue_status_changed', status: { queue: 'emails', total_tasks: 3, pending_tasks: 1, running_tasks: 1, completed_tasks: 1, failed_tasks: 0 } });
  const status = watchQueueStatus(socket, 'emails');
  const failed = watchEventType(socket, 'task_failed');
  const totals: number[] = [];
  const failures: string[] = [];
  status.on('snapshot', (s) => totals.push(s.total_tasks));
  failed.on('task_failed', (t) => failures.push(`${t.queue}/${t.task_id}: ${t.message}`));
  await Promise.all([joinOutcome(status), joinOutcome(failed)]);
  await pollUntil(() => totals.length === 1, 'the counters snapshot');
  assert.deepEqual(totals, [3]);
  const result = await hub.publish({ type: 'task_failed', task: { task_id: 'x', queue: 'images', status: 'failed', message: 'boom' } });
  assert.ok(result.ok && result.reached === 1);
  await pollUntil(() => failures.length === 1, 'the failure');
  assert.deepEqual(failures, ['images/x: boom']);
});

test("a user reaches only their own topic: joining another user's is refused", async () => {
  const alice = connect(await tokenFor('alice'));
  const bob = connect(await tokenFor('bob'));
  const own = watchUser(alice, 'alice');
  const stolen = watchUser(bob, 'alice');
  const sharedOnly = watchUser(connect('shared'), 'alice');
  assert.deepEqual(await Promise.all([joinOutcome(own), joinOutcome(stolen), joinOutcome(sharedOnly)]), ['joined', 'join_refused', 'join_refused']);
  const got: string[] = [];
  own.on('user_notification', (n) => got.push(n.title));
  assert.deepEqual(await hub.notifyUser('alice', { level: 'info', title: 'done', message: 'your export is ready', timestamp: 1 }), { ok: true, reached: 1, delivered: true });
  await pollUntil(() => got.length === 1, 'the notification');
  assert.equal(hub.subscribers('user:alice'), 1);
});

test('a bad token is refused; malformed events are refused with the field named, never broadcast', async () => {
  const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('eve').sign(new TextEncoder().encode('x'.repeat(40)));
  const upgradeStatus = (token: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`${url}/websocket?vsn=2.0.0&token=${token}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => {});
    });
  assert.equal(await upgradeStatus(forged), 403);
  assert.equal(await upgradeStatus(await tokenFor('carol')), 101);
  const bad = await hub.publish({ type: 'task_updated', task: { task_id: '1', queue: 'emails', status: 'progress', progress: 250 } });
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error, /progress/);
  assert.equal((await hub.publish({ type: 'nope' })).ok, false);
});
