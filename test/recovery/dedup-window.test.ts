import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DedupWindow } from '../../src/server/recovery/dedup-window.ts';

function clock(start = 1000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('remembers a key until its TTL passes, then forgets it', () => {
  const c = clock();
  const w = new DedupWindow<string>({ maxEntries: 10, ttlMs: 100, now: c.now });
  w.set('a', 'A');
  c.t += 99;
  assert.equal(w.get('a'), 'A');
  c.t += 100;
  assert.equal(w.get('a'), undefined);
  assert.equal(w.size, 0);
});

test('a hit renews the TTL (sliding window)', () => {
  const c = clock();
  const w = new DedupWindow<number>({ maxEntries: 10, ttlMs: 100, now: c.now });
  w.set('a', 1);
  for (let i = 0; i < 5; i++) {
    c.t += 80;
    assert.equal(w.get('a'), 1);
  }
  c.t += 100;
  assert.equal(w.get('a'), undefined);
});

test('evicts the least recently touched key when over the count bound', () => {
  const w = new DedupWindow<number>({ maxEntries: 3, ttlMs: 1e9, now: () => 0 });
  w.set('a', 1);
  w.set('b', 2);
  w.set('c', 3);
  assert.equal(w.get('a'), 1); // a is now the most recent
  w.set('d', 4);
  assert.equal(w.get('b'), undefined);
  assert.deepEqual([w.get('a'), w.get('c'), w.get('d')], [1, 3, 4]);
  assert.equal(w.size, 3);
});

test('expired keys are pruned on write so memory stays bounded by live keys', () => {
  const c = clock();
  const w = new DedupWindow<number>({ maxEntries: 1000, ttlMs: 10, now: c.now });
  for (let i = 0; i < 500; i++) w.set(`k${i}`, i);
  c.t += 11;
  w.set('fresh', 1);
  assert.equal(w.size, 1);
});

test('rejects unusable limits with a clear error', () => {
  assert.throws(() => new DedupWindow({ maxEntries: 0, ttlMs: 1 }), /maxEntries must be a positive integer/);
  assert.throws(() => new DedupWindow({ maxEntries: 1, ttlMs: 0 }), /ttlMs must be positive/);
});
