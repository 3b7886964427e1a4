import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerMetrics } from '../../src/ops/metrics.ts';
import { Sampler, percentiles } from '../../src/ops/sampler.ts';

test('percentiles interpolate within buckets of the interval only', () => {
  const previous = new Map([[0.001, 50], [0.01, 50], [0.1, 50], [Infinity, 50]]);
  // Since `previous`: 100 observations, 90 in (1 ms, 10 ms], 10 in (10 ms, 100 ms].
  const current = new Map([[0.001, 50], [0.01, 140], [0.1, 150], [Infinity, 150]]);
  const p = percentiles(current, previous);
  assert.ok(p);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);
  close(p.p50, 1 + 9 * (50 / 90));
  close(p.p95, 10 + 90 * (5 / 10));
  close(p.p99, 10 + 90 * (9 / 10));
  assert.equal(percentiles(previous, previous), null, 'nothing handled -> null, not zero');
});

test('samples report per-second rates from totals and the events since the last sample', async () => {
  let now = 1_000_000;
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const topics = new Map([['room:a', 3], ['tether:admin', 1], ['room:b', 5]]);
  const sampler = new Sampler({
    metrics,
    now: () => now,
    hiddenTopics: new Set(['tether:admin']),
    server: { topics: () => topics, presence: { list: (t) => (t === 'room:b' ? { ada: {}, bob: {} } : {}) } },
  });
  try {
    await sampler.sample();
    for (let i = 0; i < 200; i++) metrics.observer.frameIn?.({ connectionId: 'c', bytes: 50 });
    metrics.observer.handled?.({ pattern: 'room:*', event: 'echo', durationMs: 3, status: 'ok' });
    sampler.observer.connectionClosed?.({ id: 'c9', code: 4001, reason: 'slow consumer', durationMs: 10, transport: 'websocket' });
    sampler.observer.connectionClosed?.({ id: 'c8', code: 1000, reason: 'bye', durationMs: 10, transport: 'websocket' });
    sampler.observer.error?.(new Error('bad'), 'decode c7');
    now += 2000;
    const { sample, events } = await sampler.sample();
    assert.equal(sample.messagesInPerSec, 100);
    assert.equal(sample.bytesInPerSec, 5000);
    assert.equal(sample.topics, 2, 'the admin topic is not counted');
    assert.ok(sample.latencyMs && sample.latencyMs.p50 > 2.5 && sample.latencyMs.p50 <= 5);
    assert.deepEqual(
      events.map((e) => [e.kind, e.label]),
      [['disconnect', '4001 slowConsumer'], ['error', 'decode']],
      'clean closes are not listed',
    );
    assert.match(events[0].detail, /^you read too slowly.*; slow consumer \(c9\)$/, 'the close is explained in words');
    assert.equal((await sampler.sample()).events.length, 0);
    assert.equal(sampler.recent.length, 2);
    assert.deepEqual(sampler.topicRows(), [
      { topic: 'room:b', subscribers: 5, presence: 2, present: ['ada', 'bob'] },
      { topic: 'room:a', subscribers: 3, presence: 0, present: [] },
    ]);
  } finally {
    sampler.close();
  }
});
