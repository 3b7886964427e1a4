import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Coalescer } from '../../src/tasks/server/coalescer.ts';
import type { TaskEvent, TaskStatus } from '../../src/tasks/types.ts';
import { VirtualClock } from '../helpers/clock.ts';

function setup(options: { progressPerSecond?: number | false; maxTracked?: number } = {}) {
  const clock = new VirtualClock();
  const out: TaskEvent[] = [];
  const coalescer = new Coalescer({ ...options, timers: clock, emit: (r) => out.push(r.event) });
  // What the hub passes: the event with its topics (not read by the coalescer).
  const push = (event: TaskEvent) : boolean => coalescer.push({ event, topics: [] });
  return { clock, out, coalescer, push };
}

const task = (id: string, status: TaskStatus, progress?: number): TaskEvent => ({
  type: status === 'completed' ? 'task_completed' : status === 'failed' ? 'task_failed' : status === 'created' ? 'task_created' : 'task_updated',
  task: { task_id: id, queue: 'q', status, ...(progress === undefined ? {} : { progress }) },
});
const shown = (events: TaskEvent[]) => events.map((e) => ('task' in e ? `${e.task.task_id}:${e.task.status}${e.task.progress === undefined ? '' : `@${e.task.progress}`}` : e.type));

test('10,000 progress events in one second go out at 10 per second for that task, the last value kept', () => {
  const { clock, out, coalescer, push } = setup();
  for (let i = 1; i <= 10_000; i++) {
    push(task('a', 'progress', i / 100));
    clock.advance(0.1);
  }
  clock.advance(200);
  // 1.2 s of virtual time: the first at once, then one per 100 ms at most.
  assert.ok(out.length >= 10 && out.length <= 13, `${out.length} events`);
  assert.deepEqual(shown(out.slice(-1)), ['a:progress@100']);
  assert.equal(coalescer.pending, 0);
  assert.equal(clock.pendingTimers, 0);
});

test('completed flushes the pending progress first: final progress, then completed, each exactly once', () => {
  const { clock, out, coalescer, push } = setup();
  push(task('a', 'created'));
  push(task('a', 'progress', 10));
  push(task('a', 'progress', 50));
  push(task('a', 'progress', 90));
  push(task('a', 'completed'));
  assert.deepEqual(shown(out), ['a:created', 'a:progress@10', 'a:progress@90', 'a:completed']);
  clock.advance(1000);
  assert.equal(out.length, 4, 'nothing sent again after the completion');
  assert.equal(clock.pendingTimers, 0);
});

test('tasks are coalesced apart; created and failed are never delayed or reordered', () => {
  const { clock, out, coalescer, push } = setup({ progressPerSecond: 2 });
  push(task('a', 'progress', 1));
  push(task('b', 'progress', 1));
  push(task('a', 'progress', 2));
  push(task('c', 'created'));
  push(task('b', 'failed'));
  assert.deepEqual(shown(out), ['a:progress@1', 'b:progress@1', 'c:created', 'b:failed']);
  clock.advance(499);
  assert.equal(out.length, 4);
  clock.advance(1);
  assert.deepEqual(shown(out).slice(4), ['a:progress@2']);
});

test('queue counters: latest wins at the configured rate', () => {
  const { clock, out, coalescer, push } = setup();
  const status = (n: number): TaskEvent => ({ type: 'queue_status_changed', status: { queue: 'q', total_tasks: n, pending_tasks: 0, running_tasks: 0, completed_tasks: n, failed_tasks: 0 } });
  for (let n = 1; n <= 50; n++) push(status(n));
  clock.advance(100);
  assert.deepEqual(out.map((e) => (e.type === 'queue_status_changed' ? e.status.total_tasks : -1)), [1, 50]);
});

test('off (false): every progress event passes at once', () => {
  const { clock, out, coalescer, push } = setup({ progressPerSecond: false });
  for (let i = 0; i < 100; i++) push(task('a', 'progress', i));
  assert.equal(out.length, 100);
  assert.equal(clock.pendingTimers, 0);
});

test('the tracking bound forgets the oldest task after sending its pending value: nothing lost', () => {
  const { clock, out, coalescer, push } = setup({ maxTracked: 2 });
  for (const id of ['a', 'b']) {
    push(task(id, 'progress', 1));
    push(task(id, 'progress', 2));
  }
  push(task('c', 'progress', 1));
  assert.deepEqual(shown(out), ['a:progress@1', 'b:progress@1', 'a:progress@2', 'c:progress@1']);
  clock.advance(1000);
  assert.deepEqual(shown(out).slice(4), ['b:progress@2']);
  coalescer.close();
  assert.equal(clock.pendingTimers, 0);
});

test('the waiting values of many tasks share one timer and go out in one callback, each task still at its rate', () => {
  const { clock, out, push } = setup();
  const ids = Array.from({ length: 50 }, (_, i) => `t${i}`);
  for (const id of ids) push(task(id, 'progress', 1));
  for (const id of ids) push(task(id, 'progress', 2));
  assert.equal(out.length, 50, 'the first value of each task at once');
  assert.equal(clock.pendingTimers, 1, 'one timer for every waiting task, not one each');
  clock.advance(99);
  assert.equal(out.length, 50);
  clock.advance(1);
  assert.deepEqual(shown(out.slice(50)), ids.map((id) => `${id}:progress@2`));
  assert.equal(clock.pendingTimers, 0);
});

test('timers that fire late (a busy server) keep the rate: sends stay on the slot\'s grid, never above the maximum', () => {
  const clock = new VirtualClock();
  const times: number[] = [];
  // Every timer runs 60 ms after it was due, as on an event loop that is 60 ms behind.
  const late = {
    now: () => clock.now(),
    setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms + 60),
    clearTimeout: (t: unknown) => clock.clearTimeout(t),
    setInterval: (fn: () => void, ms: number) => clock.setInterval(fn, ms),
    clearInterval: (t: unknown) => clock.clearInterval(t),
  };
  const coalescer = new Coalescer({ timers: late, emit: () => times.push(clock.now()) });
  for (let ms = 0; ms < 3000; ms++) {
    coalescer.push({ event: task('a', 'progress', ms), topics: [] });
    clock.advance(1);
  }
  // 10 a second asked for: without the grid every send would wait 160 ms (about 19 in 3 s).
  assert.ok(times.length >= 27 && times.length <= 31, `${times.length} sends in 3 s`);
  for (const t of times) assert.ok(times.filter((u) => u >= t && u < t + 1000).length <= 11, `at most 11 sends in the second after ${t}`);
  coalescer.close();
});
