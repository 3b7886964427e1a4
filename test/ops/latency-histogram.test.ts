import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram } from '../../src/ops/latency-histogram.ts';

test('quantiles are within 1% of the exact values', () => {
  const h = new LatencyHistogram();
  const values: number[] = [];
  for (let i = 1; i <= 10_000; i++) values.push(i / 100); // 0.01 .. 100 ms
  for (const v of values) h.record(v);
  for (const q of [0.5, 0.95, 0.99]) {
    const exact = values[Math.ceil(q * values.length) - 1];
    const got = h.quantile(q)!;
    assert.ok(Math.abs(got - exact) / exact <= 0.011, `q${q}: ${got} vs ${exact}`);
  }
  const s = h.summary();
  assert.equal(s.count, 10_000);
  assert.equal(s.min, 0.01);
  assert.equal(s.max, 100);
  assert.ok(Math.abs((s.mean ?? 0) - 50.005) < 1e-9);
});

test('empty and extreme values', () => {
  const h = new LatencyHistogram();
  assert.deepEqual(h.summary(), { count: 0, min: null, mean: null, p50: null, p95: null, p99: null, max: null });
  h.record(0);
  h.record(1e9);
  assert.ok(h.quantile(0.5)! <= 0.001, 'sub-microsecond values land in the first bucket');
  assert.equal(h.quantile(1), 1e9, 'capped at the true max');
});

test('snapshots merge across processes into the histogram of all samples, within 0.1%', () => {
  const all = new LatencyHistogram();
  const workers = [new LatencyHistogram(), new LatencyHistogram()];
  for (let i = 1; i <= 20_000; i++) {
    const ms = (i % 997) * 0.37 + 0.003;
    all.record(ms);
    workers[i % 2]!.record(ms);
  }
  const merged = new LatencyHistogram();
  merged.merge(JSON.parse(JSON.stringify(new LatencyHistogram().toJSON()))); // an idle worker adds nothing
  for (const w of workers) merged.merge(JSON.parse(JSON.stringify(w.toJSON()))); // as the bench's IPC carries it
  const { mean, ...rest } = merged.summary();
  const { mean: allMean, ...allRest } = all.summary();
  assert.deepEqual(rest, allRest);
  assert.ok(Math.abs(mean! - allMean!) < 1e-9, 'the mean differs only by the order of float additions');
  const sorted = Array.from({ length: 20_000 }, (_, k) => ((k + 1) % 997) * 0.37 + 0.003).sort((a, b) => a - b);
  for (const q of [0.5, 0.95, 0.99]) {
    const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
    assert.ok(Math.abs(merged.quantile(q)! - exact) / exact <= 0.001, `q${q}: ${merged.quantile(q)} vs ${exact}`);
  }
  merged.reset();
  assert.equal(merged.count, 0);
  assert.equal(merged.quantile(0.5), null);
});
