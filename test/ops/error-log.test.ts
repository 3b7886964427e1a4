import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatedErrorLog, type ErrorLogEntry } from '../../src/ops/error-log.ts';
import { VirtualClock } from '../helpers/clock.ts';

function setup(intervalMs = 10_000) {
  const clock = new VirtualClock();
  const written: ErrorLogEntry[] = [];
  const log = new RepeatedErrorLog({ intervalMs, timers: clock, write: (e) => written.push(e) });
  return { clock, written, log };
}

test('the first error of a kind is written at once; the rest of the interval is one line with the count and the last error', () => {
  const { clock, written, log } = setup();
  for (let i = 0; i < 520; i++) log.report(new Error(`publish ${i} failed`), `broker.publish room:${i}`);
  assert.equal(written.length, 1);
  assert.equal(written[0].repeated, 0);
  assert.equal(written[0].err.message, 'publish 0 failed');
  clock.advance(9_999);
  assert.equal(written.length, 1);
  clock.advance(1);
  assert.equal(written.length, 2);
  assert.deepEqual({ kind: written[1].kind, repeated: written[1].repeated, msg: written[1].err.message, context: written[1].context }, {
    kind: 'broker.publish', repeated: 519, msg: 'publish 519 failed', context: 'broker.publish room:519',
  });
  // Errors that keep coming are summarised once per interval.
  for (let i = 0; i < 7; i++) log.report(new Error('again'), 'broker.publish room:x');
  clock.advance(10_000);
  assert.equal(written.length, 3);
  assert.equal(written[2].repeated, 7);
  // A quiet interval forgets the kind: no empty summary, no timer left, and the next error is written at once.
  clock.advance(10_000);
  assert.equal(written.length, 3);
  assert.equal(log.trackedKinds, 0);
  assert.equal(clock.pendingTimers, 0);
  log.report(new Error('back'), 'broker.publish room:y');
  assert.equal(written.length, 4);
  assert.equal(written[3].repeated, 0);
});

test('kinds are independent and bounded: each kind gets its first line, past 64 kinds they share "other"', () => {
  const { clock, written, log } = setup();
  log.report(new Error('a'), 'decode c1');
  log.report(new Error('b'), 'broker');
  log.report(new Error('c'), 'decode c2');
  assert.deepEqual(written.map((e) => e.kind), ['decode', 'broker']);
  for (let i = 0; i < 200; i++) log.report(new Error('k'), `kind${i} x`);
  assert.equal(log.trackedKinds, 65);
  assert.equal(written.filter((e) => e.kind === 'other').length, 1);
  log.close();
  assert.equal(clock.pendingTimers, 0);
});
