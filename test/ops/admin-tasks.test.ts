/**
 * The admin channel's Tasks view feed: no task pushes without a source; with one, a `tasks_snapshot` after every
 * join and a `tasks` picture per interval, the counters' history bounded; a failing look leaves the sample going.
 * Also the tasks module's bounded overview that `tether serve` feeds it with.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Socket } from '../../src/client/socket.ts';
import { ADMIN_TOPIC, type AdminEvents, type TasksPicture } from '../../src/dashboard/feed.ts';
import { AdminFeed, type TasksSource } from '../../src/ops/admin-channel.ts';
import { ServerMetrics } from '../../src/ops/metrics.ts';
import { Sampler } from '../../src/ops/sampler.ts';
import { createServer } from '../../src/server/server.ts';
import { MemorySnapshotStore } from '../../src/tasks/server/snapshots.ts';
import { taskOverview } from '../../src/tasks/server/overview.ts';

const sampler = new Sampler({ metrics: new ServerMetrics() });
const feed = new AdminFeed({ sampler, access: { open: true }, info: () => ({ node: 'n', startedAt: 0, endpoint: '' }), tasksHistorySize: 2 });
const server = createServer({ port: 0, channels: { [ADMIN_TOPIC]: feed.channel } });
const { url } = await server.listen();
after(async () => {
  sampler.close();
  await server.close();
});

const status = (queue: string, failed: number) => ({ queue, total_tasks: 3, pending_tasks: 0, running_tasks: 1, completed_tasks: 1, failed_tasks: failed });

async function watch() {
  const socket = new Socket(url);
  socket.connect();
  const channel = socket.channel<AdminEvents>(ADMIN_TOPIC);
  const got: { snapshots: AdminEvents['tasks_snapshot'][]; pictures: TasksPicture[]; samples: number } = { snapshots: [], pictures: [], samples: 0 };
  channel.on('tasks_snapshot', (s) => got.snapshots.push(s));
  channel.on('tasks', (p) => got.pictures.push(p));
  channel.on('sample', () => got.samples++);
  assert.equal((await channel.join()).status, 'ok');
  return { socket, got };
}

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
};

test('no Tasks view without a source; with one, a snapshot on join and one picture per tick, history bounded', async () => {
  const before = await watch();
  await feed.tick();
  await until(() => before.got.samples === 1, 'a sample');
  assert.deepEqual(before.got.pictures, []);
  assert.deepEqual(before.got.snapshots, []);
  await before.socket.disconnect();

  let failed = 0;
  let broken = false;
  const source: TasksSource = {
    look: async () => {
      if (broken) throw new Error('store down');
      failed++;
      return { queues: [status('emails', failed)], running: [{ queue: 'emails', task_id: '7', status: 'progress', progress: 40 }], failures: [] };
    },
  };
  feed.setTasks(source);
  for (let i = 0; i < 3; i++) await feed.tick();
  const { socket, got } = await watch();
  await until(() => got.snapshots.length === 1, 'the tasks snapshot');
  assert.deepEqual(got.snapshots[0].history.map((h) => h.queues[0].failed_tasks), [2, 3], 'the last two counter samples');
  assert.equal(got.snapshots[0].latest?.running[0].progress, 40);
  await feed.tick();
  await until(() => got.pictures.length === 1, 'a picture');
  assert.equal(got.pictures[0].queues[0].failed_tasks, 4);
  broken = true;
  await feed.tick();
  await until(() => got.samples === 2, 'the sample still goes out');
  assert.equal(got.pictures.length, 1);
  await socket.disconnect();
  feed.setTasks(null);
});

test('taskOverview: counters (zeros for a queue never seen), running and failed tasks newest first, bounded', async () => {
  let now = 1000;
  const store = new MemorySnapshotStore({ now: () => now });
  await store.putStatus(status('a', 1));
  for (let i = 0; i < 6; i++) {
    now++;
    await store.putTask({ queue: 'a', task_id: `r${i}`, status: 'progress', progress: i * 10, timestamp: now });
    await store.putTask({ queue: 'b', task_id: `f${i}`, status: 'failed', message: `boom ${i}`, timestamp: now });
    await store.putTask({ queue: 'b', task_id: `c${i}`, status: 'completed', timestamp: now });
  }
  const overview = await taskOverview(store, ['a', 'b'], { maxRunning: 2, maxFailures: 3 });
  assert.deepEqual(overview.queues, [status('a', 1), { queue: 'b', total_tasks: 0, pending_tasks: 0, running_tasks: 0, completed_tasks: 0, failed_tasks: 0 }]);
  assert.deepEqual(overview.running.map((t) => t.task_id), ['r5', 'r4']);
  assert.deepEqual(overview.failures.map((t) => `${t.task_id} ${t.message}`), ['f5 boom 5', 'f4 boom 4', 'f3 boom 3']);
  const narrow = await taskOverview(store, ['b'], { scan: 2 });
  assert.deepEqual(narrow.failures.map((t) => t.task_id), ['f5'], 'only the `scan` most recent tasks are read');
  await store.close();
});
