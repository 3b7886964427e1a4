/**
 * The task topics with the stock `phoenix` npm client (no Tether code on the client side): `task:<queue>:<id>`
 * answers the join with the task's snapshot and pushes it, `tasks:<queue>` and `queue:<name>` carry the typed
 * events, each payload valid against the module's own schemas.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Socket, type Channel } from 'phoenix';
import { queueStatusSchema, taskUpdateSchema } from '../../src/tasks/schema.ts';
import { jwtConnect } from '../../src/tasks/server/auth.ts';
import { TaskHub } from '../../src/tasks/server/hub.ts';
import type { QueueStatus, TaskSnapshot, TaskUpdate } from '../../src/tasks/types.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startServer } from '../helpers/server-fixtures.ts';

const hub = new TaskHub({ progressPerSecond: false });
const { server, url } = await startServer({ channels: hub.channels, connect: jwtConnect({ secret: 's'.repeat(40), token: 'shared' }) });
hub.attach(server);
const socket = new Socket(url, { params: { token: 'shared' }, timeout: 5000 });
socket.connect();
after(async () => {
  await new Promise<void>((resolve) => socket.disconnect(() => resolve()));
  await hub.close();
});

function join(channel: Channel): Promise<unknown> {
  return new Promise((resolve, reject) => {
    channel
      .join()
      .receive('ok', resolve)
      .receive('error', (reason: unknown) => reject(new Error(`join refused: ${JSON.stringify(reason)}`)))
      .receive('timeout', () => reject(new Error('join timed out')));
  });
}

test('stock phoenix client: task:<queue>:<id> join reply carries the snapshot; tasks:<queue> and queue:<name> get typed events', async () => {
  await hub.publish({ type: 'task_created', task: { task_id: '7', queue: 'emails', status: 'created' } });
  await hub.publish({ type: 'task_updated', task: { task_id: '7', queue: 'emails', status: 'progress', progress: 40 } });
  await pollUntil(async () => (await hub.store.getTask('emails', '7'))?.progress === 40, 'the snapshot stored');

  const task = socket.channel('task:emails:7');
  const pushedSnapshots: TaskSnapshot[] = [];
  const taskEvents: string[] = [];
  task.on('snapshot', (s: TaskSnapshot) => void pushedSnapshots.push(s));
  task.on('task_completed', (t: TaskUpdate) => void taskEvents.push(`completed ${t.progress}`));
  const reply = (await join(task)) as { snapshot: TaskSnapshot };
  assert.equal(reply.snapshot.status, 'progress');
  assert.equal(reply.snapshot.progress, 40);
  taskUpdateSchema.parse(reply.snapshot);
  await pollUntil(() => pushedSnapshots.length === 1, 'the snapshot push after the join');
  assert.equal(pushedSnapshots[0].progress, 40);

  const queue = socket.channel('tasks:emails');
  const seen: string[] = [];
  for (const event of ['task_created', 'task_updated', 'task_completed', 'task_failed'] as const) {
    queue.on(event, (t: unknown) => {
      const update = taskUpdateSchema.parse(t);
      seen.push(`${event} ${update.task_id} ${update.status}${update.progress === undefined ? '' : ` ${update.progress}`}${update.message === undefined ? '' : ` ${update.message}`}`);
    });
  }
  queue.on('queue_status_changed', (s: unknown) => void seen.push(`queue_status_changed ${queueStatusSchema.parse(s).completed_tasks}`));
  await join(queue);

  const counters = socket.channel('queue:emails');
  const statuses: QueueStatus[] = [];
  counters.on('snapshot', (s: unknown) => void statuses.push(queueStatusSchema.parse(s)));
  counters.on('queue_status_changed', (s: unknown) => void statuses.push(queueStatusSchema.parse(s)));
  await join(counters);
  await pollUntil(() => statuses.length === 1, 'the counters snapshot (zeros: none published yet)');
  assert.equal(statuses[0].total_tasks, 0);

  await hub.publish({ type: 'task_created', task: { task_id: '8', queue: 'emails', status: 'created' } });
  await hub.publish({ type: 'task_updated', task: { task_id: '7', queue: 'emails', status: 'progress', progress: 90 } });
  await hub.publish({ type: 'task_completed', task: { task_id: '7', queue: 'emails', status: 'completed', progress: 100 } });
  await hub.publish({ type: 'task_failed', task: { task_id: '8', queue: 'emails', status: 'failed', message: 'bounced' } });
  await hub.publish({ type: 'queue_status_changed', status: { queue: 'emails', total_tasks: 2, pending_tasks: 0, running_tasks: 0, completed_tasks: 1, failed_tasks: 1 } });

  await pollUntil(() => seen.length === 5 && statuses.length === 2 && taskEvents.length === 1, 'every event on the three topics');
  assert.deepEqual(seen, ['task_created 8 created', 'task_updated 7 progress 90', 'task_completed 7 completed 100', 'task_failed 8 failed bounced', 'queue_status_changed 1']);
  assert.deepEqual(taskEvents, ['completed 100'], 'task:emails:7 gets its own task only');
  assert.equal(statuses[1].failed_tasks, 1);

  const refused = await new Promise((resolve) => queue.push('anything', {}).receive('error', resolve));
  assert.deepEqual(refused, { reason: 'read_only' });
});
