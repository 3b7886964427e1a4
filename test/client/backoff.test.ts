import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullJitterBackoff, RetrySchedule } from '../../src/client/backoff.ts';

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
