import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeartbeatMonitor } from '../../src/client/heartbeat.ts';
import { VirtualClock } from '../helpers/clock.ts';

function setup() {
  const clock = new VirtualClock();
  const sent: { ref: string; at: number }[] = [];
  const events: string[] = [];
  const rtts: number[] = [];
  let n = 0;
  const monitor = new HeartbeatMonitor({
    clock,
    intervalMs: 30_000,
    timeoutMs: 10_000,
    lateToleranceMs: 2_000,
    send: () => {
      const ref = String(++n);
      sent.push({ ref, at: clock.now() });
      return ref;
    },
    onDead: () => events.push(`dead@${clock.now()}`),
    onRtt: (ms) => rtts.push(ms),
  });
  return { clock, sent, events, rtts, monitor };
}

test('a heartbeat goes out interval after start and after each reply, with RTT measured', () => {
  const { clock, sent, rtts, monitor, events } = setup();
  monitor.start();
  clock.advance(29_999);
  assert.equal(sent.length, 0);
  clock.advance(1);
  assert.equal(sent.length, 1);
  clock.advance(40);
  assert.equal(monitor.onReply(sent[0].ref), true);
  assert.deepEqual(rtts, [40]);
  clock.advance(29_999);
  assert.equal(sent.length, 1);
  clock.advance(1);
  assert.equal(sent.length, 2);
  assert.deepEqual(events, []);
  monitor.stop();
  assert.equal(clock.pendingTimers, 0);
});

test('no reply within the timeout declares the link dead at interval + timeout', () => {
  const { clock, monitor, events } = setup();
  const start = clock.now();
  monitor.start();
  clock.advance(60_000);
  assert.deepEqual(events, [`dead@${start + 40_000}`]);
  assert.equal(monitor.misses, 1);
  assert.equal(clock.pendingTimers, 0, 'nothing left scheduled after death');
});

test('a reply to an older ref does not count', () => {
  const { clock, sent, monitor, events } = setup();
  monitor.start();
  clock.advance(30_000);
  monitor.probe();
  assert.equal(sent.length, 2);
  assert.equal(monitor.onReply(sent[0].ref), false);
  clock.advance(10_000);
  assert.equal(events.length, 1);
});

test('a deadline timer that fires late (suspended process) probes instead of declaring death', () => {
  const { clock, sent, monitor, events } = setup();
  monitor.start();
  clock.advance(30_000);
  assert.equal(sent.length, 1);
  // The laptop sleeps for an hour: the wall clock moves, no timer fires meanwhile.
  clock.jump(3_600_000);
  clock.advance(0);
  assert.deepEqual(events, [], 'no false death after resume');
  assert.equal(sent.length, 2, 'a probe went out at once');
  assert.equal(sent[1].at, sent[0].at + 3_600_000);
  assert.equal(monitor.jumps, 1);
  // The probe is answered: the link was fine.
  monitor.onReply(sent[1].ref);
  clock.advance(10_000);
  assert.deepEqual(events, []);
});

test('a late probe that is not answered does end the link, one timeout after the probe', () => {
  const { clock, monitor, events } = setup();
  monitor.start();
  clock.advance(30_000);
  clock.jump(600_000);
  clock.advance(0);
  const probedAt = clock.now();
  clock.advance(10_000);
  assert.deepEqual(events, [`dead@${probedAt + 10_000}`]);
});

test('while hidden a missed deadline only marks the link suspect; resume probes at once', () => {
  const { clock, sent, monitor, events } = setup();
  monitor.start();
  monitor.setHidden(true);
  clock.advance(45_000);
  assert.deepEqual(events, []);
  assert.equal(sent.length, 1);
  monitor.resume();
  assert.equal(sent.length, 2, 'probe on return');
  clock.advance(10_000);
  assert.equal(events.length, 1, 'the unanswered probe ends it');
});
