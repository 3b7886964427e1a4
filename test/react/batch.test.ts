/** The update batcher in virtual time: a burst becomes one pass, a stream about ten a second, order is kept. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpdateBatcher, type FrameSource } from '../../src/react/index.ts';
import { VirtualClock } from '../helpers/clock.ts';

/** 60 Hz frames on the virtual clock. */
function setup(options: { maxDelayMs?: number; maxQueued?: number } = {}) {
  const clock = new VirtualClock();
  const frames: FrameSource = { request: (cb) => clock.setTimeout(cb, 16), cancel: (h) => clock.clearTimeout(h) };
  const batcher = new UpdateBatcher({ clock, frames, ...options });
  const passes: string[][] = [];
  let current: string[] | null = null;
  const record = (item: string) => () => {
    if (!current) {
      current = [];
      passes.push(current);
      queueMicrotask(() => (current = null));
    }
    current.push(item);
  };
  return { clock, batcher, passes, record, settle: () => new Promise<void>((r) => setImmediate(r)) };
}

test('a burst inside one frame is one pass, handlers in arrival order, each listener notified once', async () => {
  const { clock, batcher, passes, record, settle } = setup();
  const listener = record('notified');
  for (let i = 0; i < 1000; i++) {
    batcher.deliver(record(`e${i}`));
    batcher.notify(listener);
  }
  clock.advance(16);
  assert.equal(passes.length, 0, 'the frame that saw the burst waits one more frame');
  clock.advance(16);
  await settle();
  assert.equal(passes.length, 1);
  assert.deepEqual(passes[0], [...Array.from({ length: 1000 }, (_, i) => `e${i}`), 'notified']);
  assert.equal(clock.pendingTimers, 0, 'nothing left scheduled');
});

test('a steady stream (an event every 5 ms for one second) passes about every maxDelayMs, never more often', async () => {
  const { clock, batcher, passes, record, settle } = setup();
  let flushes = 0;
  for (let t = 0; t < 1000; t += 5) {
    batcher.deliver(record(`t${t}`));
    const before = passes.length;
    clock.advance(5);
    await settle();
    flushes += passes.length - before;
  }
  clock.advance(200);
  await settle();
  assert.ok(flushes >= 9 && flushes <= 11, `${flushes} passes in a second`);
  assert.equal(passes.flat().length, 200, 'every event delivered once');
});

test('a lone event waits at most two frames; maxQueued forces a pass; sync mode delivers at once', async () => {
  const { clock, batcher, passes, record, settle } = setup({ maxQueued: 3 });
  batcher.deliver(record('lone'));
  clock.advance(32);
  await settle();
  assert.deepEqual(passes, [['lone']]);
  for (const x of ['a', 'b', 'c']) batcher.deliver(record(x));
  await settle();
  assert.deepEqual(passes[1], ['a', 'b', 'c'], 'flushed at the third without waiting for a frame');
  assert.equal(clock.pendingTimers, 0);
  const sync = new UpdateBatcher({ mode: 'sync', clock });
  let n = 0;
  sync.deliver(() => n++);
  sync.notify(() => n++);
  assert.equal(n, 2);
});

test('a throwing handler does not stop the others; the error is reported (reportError, as a browser reports it)', (t) => {
  const { clock, batcher } = setup();
  const seen: string[] = [];
  const reported: unknown[] = [];
  const g = globalThis as { reportError?: (error: unknown) => void };
  const original = g.reportError;
  g.reportError = (error) => reported.push(error);
  t.after(() => {
    g.reportError = original;
  });
  batcher.deliver(() => seen.push('a'));
  batcher.deliver(() => {
    throw new Error('handler failed');
  });
  batcher.deliver(() => seen.push('c'));
  clock.advance(100);
  assert.deepEqual(seen, ['a', 'c']);
  assert.deepEqual(reported.map((e) => (e as Error).message), ['handler failed']);
});
