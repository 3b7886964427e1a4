/** `tether tasks watch`: the board's rendering, and the command as a real process against `tether serve`. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { TaskBoard } from '../../src/cli/tasks-board.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startServe } from '../helpers/serve-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the board shows counters, a bar per running task, finished tasks leave it, notifications stay (last 5)', () => {
  const board = new TaskBoard();
  board.link = 'up';
  assert.equal(board.apply('task_created', { task_id: '1', queue: 'q', status: 'created' }), 'q/1 created');
  board.apply('task_updated', { task_id: '1', queue: 'q', status: 'progress', progress: 50 });
  board.apply('task_updated', { task_id: '2', queue: 'q', status: 'active' });
  board.apply('queue_status_changed', { queue: 'q', total_tasks: 2, pending_tasks: 0, running_tasks: 2, completed_tasks: 0, failed_tasks: 0 });
  assert.deepEqual(board.render(60), [
    'link: up',
    'q: 2 total, 0 pending, 2 running, 0 completed, 0 failed',
    `q/2                          [${'.'.repeat(20)}]   0%`,
    `q/1                          [${'#'.repeat(10)}${'.'.repeat(10)}]  50%`,
  ]);
  assert.equal(board.apply('task_failed', { task_id: '1', queue: 'q', status: 'failed', progress: 50, message: 'boom' }), 'q/1 failed at 50%: boom');
  for (let i = 0; i < 7; i++) board.apply('system_notification', { level: 'info', title: 't', message: String(i), timestamp: 0 });
  const lines = board.render(60);
  assert.equal(lines.filter((l) => l.startsWith('q/')).length, 1);
  assert.deepEqual(lines.slice(-5), ['2', '3', '4', '5', '6'].map((m) => `[info] t: ${m}`));
});

test('tether tasks watch QUEUE prints created, finished and notification lines as a worker publishes', async () => {
  const serve = await startServe(['--publish-token', 'pub']);
  const child = spawn(process.execPath, ['src/cli/main.ts', 'tasks', 'watch', 'emails', '--url', serve.wsUrl], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await pollUntil(() => out.includes('connected to'), 'the watcher connected', 10_000);
    const post = (body: object) => fetch(`${serve.httpUrl}/api/publish`, { method: 'POST', headers: { authorization: 'Bearer pub', 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // The watcher has joined once a publish to its queue reaches it.
    await pollUntil(async () => ((await (await post({ type: 'task_created', task: { task_id: 'probe', queue: 'emails', status: 'created' } })).json()) as { reached: number }).reached >= 1, 'the watcher subscribed', 10_000);
    await post([
      { type: 'task_created', task: { task_id: '9', queue: 'emails', status: 'created' } },
      { type: 'task_updated', task: { task_id: '9', queue: 'emails', status: 'progress', progress: 70 } },
      { type: 'task_completed', task: { task_id: '9', queue: 'emails', status: 'completed', progress: 100 } },
      { type: 'system_notification', notification: { level: 'warning', title: 'Maintenance', message: 'at noon', timestamp: 0 } },
    ]);
    await pollUntil(() => out.includes('[warning] Maintenance: at noon'), 'the notification line', 10_000);
    assert.match(out, /emails\/9 created\nemails\/9 completed at 100%\n\[warning\] Maintenance: at noon\n/);
  } finally {
    child.kill('SIGTERM');
  }
});

test('tether tasks watch across a server restart: one "link lost" line, then "link recovered", then live lines again', async () => {
  const publishing = ['--publish-token', 'pub'];
  let serve = await startServe(publishing);
  const port = new URL(serve.httpUrl).port;
  const child = spawn(process.execPath, ['src/cli/main.ts', 'tasks', 'watch', 'emails', '--url', serve.wsUrl], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const post = (body: object) => fetch(`${serve.httpUrl}/api/publish`, { method: 'POST', headers: { authorization: 'Bearer pub', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const reached = async (id: string) => ((await (await post({ type: 'task_created', task: { task_id: id, queue: 'emails', status: 'created' } })).json()) as { reached: number }).reached >= 1;
  try {
    await pollUntil(() => out.includes('connected to'), 'the watcher connected', 10_000);
    await pollUntil(() => reached('before'), 'the watcher subscribed', 10_000);
    process.kill(-serve.child.pid!, 'SIGKILL');
    await serve.exited;
    await pollUntil(() => out.includes('link lost'), 'the "link lost" line', 10_000);
    serve = await startServe([...publishing, '--port', port]);
    await pollUntil(() => out.includes('link recovered'), 'the "link recovered" line', 15_000);
    // Rejoined on the new process: a publish reaches the watcher again.
    await pollUntil(() => reached('after'), 'the watcher subscribed again', 10_000);
    await pollUntil(() => out.includes('emails/after created'), 'a live line after the restart', 10_000);
    const lines = out.split('\n');
    const lost = lines.filter((l) => l.startsWith('link lost'));
    assert.equal(lost.length, 1, `one "link lost" line for one outage:\n${out}`);
    assert.match(lost[0], /^link lost \(.+\): reconnecting$/);
    assert.equal(lines.filter((l) => l === 'link recovered').length, 1);
    const at = (text: string) => lines.findIndex((l) => l.startsWith(text));
    assert.ok(at('emails/before created') < at('link lost') && at('link lost') < at('link recovered') && at('link recovered') < at('emails/after created'), out);
  } finally {
    child.kill('SIGTERM');
    serve.child.kill('SIGTERM');
  }
});
