import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullJitterBackoff, outageBackoff, RetrySchedule, type RetryPolicy } from '../../src/client/backoff.ts';
import { VirtualClock } from '../helpers/clock.ts';

test('full jitter: delay is random(0, min(cap, base * 2^(attempt-1))), the first retry included', () => {
  const top = fullJitterBackoff({ baseMs: 500, capMs: 30_000, random: () => 0.999999 });
  const bottom = fullJitterBackoff({ random: () => 0 });
  assert.deepEqual([1, 2, 3, 4, 7, 8, 20].map((attempt) => top({ attempt, elapsedMs: 0, reason: 'x' })), [499, 999, 1999, 3999, 29_999, 29_999, 29_999]);
  assert.equal(bottom({ attempt: 1, elapsedMs: 0, reason: 'x' }), 0);
  const half = fullJitterBackoff({ random: () => 0.5 });
  assert.equal(half({ attempt: 1, elapsedMs: 0, reason: 'x' }), 250, 'the first retry is jittered, not a fixed delay');
});

test('full jitter spreads a thousand first retries across the window', () => {
  const policy = fullJitterBackoff();
  const delays = Array.from({ length: 1000 }, () => policy({ attempt: 1, elapsedMs: 0, reason: 'x' }) as number);
  const buckets = [0, 0, 0, 0, 0];
  for (const d of delays) buckets[Math.floor(d / 100)]++;
  assert.ok(Math.max(...delays) < 500);
  for (const b of buckets) assert.ok(b > 120 && b < 280, `bucket counts ${buckets.join(',')}`);
});

test('maxAttempts and maxElapsedMs give up with null', () => {
  const policy = fullJitterBackoff({ maxAttempts: 2, maxElapsedMs: 10_000 });
  assert.notEqual(policy({ attempt: 2, elapsedMs: 0, reason: 'x' }), null);
  assert.equal(policy({ attempt: 3, elapsedMs: 0, reason: 'x' }), null);
  assert.equal(policy({ attempt: 1, elapsedMs: 10_000, reason: 'x' }), null);
});

test('RetrySchedule counts attempts and elapsed time across one outage and resets', () => {
  const seen: unknown[] = [];
  const schedule = new RetrySchedule((ctx) => {
    seen.push(ctx);
    return ctx.attempt < 3 ? 100 : null;
  });
  assert.equal(schedule.next(1000, 'transport_closed'), 100);
  assert.equal(schedule.next(1600, 'handshake_failed'), 100);
  assert.equal(schedule.next(2000, 'handshake_failed'), null);
  assert.deepEqual(seen, [
    { attempt: 1, elapsedMs: 0, reason: 'transport_closed' },
    { attempt: 2, elapsedMs: 600, reason: 'handshake_failed' },
    { attempt: 3, elapsedMs: 1000, reason: 'handshake_failed' },
  ]);
  schedule.reset();
  schedule.next(5000, 'x');
  assert.deepEqual(seen.at(-1), { attempt: 1, elapsedMs: 0, reason: 'x' });
});

/** A seeded uniform source (mulberry32), so the schedule's statistics are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `clients` clients retrying against a server that is down from 0 to `downMs`, on a virtual clock; every attempt
 * while down fails at once. Returns each attempt's time and, per client, when its first attempt after the return came.
 */
function outage(policy: () => RetryPolicy, clients: number, downMs: number) {
  const clock = new VirtualClock(0);
  const attempts: number[] = [];
  const back: number[] = [];
  for (let i = 0; i < clients; i++) {
    const schedule = new RetrySchedule(policy());
    const retry = () => {
      const delay = schedule.next(clock.now(), 'transport_closed');
      if (delay === null) return;
      clock.setTimeout(() => {
        attempts.push(clock.now());
        if (clock.now() >= downMs) back.push(clock.now() - downMs);
        else retry();
      }, delay);
    };
    retry();
  }
  clock.advance(downMs + 120_000);
  assert.equal(clock.pendingTimers, 0, 'every client came back, no timer left');
  return { attempts, back };
}

const perClientRate = (attempts: number[], clients: number, from: number, to: number) =>
  attempts.filter((t) => t >= from && t < to).length / clients / ((to - from) / 1000);

test('outage backoff: the first retry within 250 ms, then [400, 900] ms while young, growing to [20, 40] s after two minutes', () => {
  const top = outageBackoff({ random: () => 0.999999 });
  const bottom = outageBackoff({ random: () => 0 });
  const at = (p: RetryPolicy, attempt: number, elapsedMs: number) => p({ attempt, elapsedMs, reason: 'x' });
  assert.deepEqual([at(bottom, 1, 0), at(top, 1, 0)], [0, 249]);
  assert.deepEqual([at(bottom, 2, 300), at(top, 2, 300), at(bottom, 30, 10_000), at(top, 30, 10_000)], [400, 899, 400, 899], 'young: by outage age, not attempt count');
  assert.deepEqual([at(bottom, 5, 120_000), at(top, 5, 120_000), at(bottom, 500, 3_600_000), at(top, 500, 3_600_000)], [20_000, 39_999, 20_000, 39_999]);
  const mid = [30_000, 60_000, 90_000].map((e) => at(bottom, 9, e) as number);
  assert.ok(mid[0] > 400 && mid[0] < mid[1] && mid[1] < mid[2] && mid[2] < 20_000, `grows in between: ${mid}`);
  assert.ok(Math.abs(mid[1] / mid[0] - mid[2] / mid[1]) < 1e-2, 'geometrically: equal ratios per equal stretch of outage');
  const limited = outageBackoff({ maxAttempts: 3, maxElapsedMs: 60_000 });
  assert.equal(at(limited, 4, 0), null);
  assert.equal(at(limited, 2, 60_000), null);
});

test('outage backoff against a dead server: ~1.5 attempts/s per client while young, ~one per 30 s after two minutes', () => {
  const clients = 200;
  const rng = seeded(13);
  const { attempts } = outage(() => outageBackoff({ random: rng }), clients, 600_000);
  const young = perClientRate(attempts, clients, 0, 10_000);
  const old = perClientRate(attempts, clients, 120_000, 600_000);
  assert.ok(young > 1.3 && young < 1.8, `young outage: ${young.toFixed(2)} attempts/s per client`);
  assert.ok(1 / old > 25 && 1 / old < 35, `after two minutes: one attempt per ${(1 / old).toFixed(1)} s per client`);
  // The stock phoenix schedule settles at one per 5 s; the old full-jitter default at one per 15 s.
});

test("outage backoff: after outages up to 10 s every client tries again within 900 ms of the server's return", () => {
  for (const downMs of [1_000, 5_000, 10_000]) {
    const { back } = outage(() => outageBackoff({ random: seeded(downMs) }), 500, downMs);
    back.sort((a, b) => a - b);
    assert.ok(back.at(-1)! < 900, `${downMs} ms outage: slowest client back ${back.at(-1)} ms after the return`);
    assert.ok(back[Math.floor(back.length * 0.5)] < 450, `${downMs} ms outage: median ${back[Math.floor(back.length * 0.5)]} ms`);
  }
  // The old default (full jitter, base 500 ms, cap 30 s) left clients up to 8-16 s behind after the same outages.
  const { back } = outage(() => fullJitterBackoff({ random: seeded(5) }), 500, 5_000);
  assert.ok(Math.max(...back) > 2_000, 'the attempt-count schedule is what this replaces');
});
