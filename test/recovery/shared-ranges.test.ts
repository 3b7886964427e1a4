/** Identical history reads in flight at once share one store read; nothing outlives the read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryHistoryStore } from '../../src/broker/history-memory.ts';
import type { HistoryStore, RecoveryResult, StreamPosition } from '../../src/broker/types.ts';
import { SharedRanges } from '../../src/server/recovery/shared-ranges.ts';

/** A store whose range reads wait until released, counting how many reached it. */
function gatedStore(inner: HistoryStore) {
  const waiting: (() => void)[] = [];
  let reads = 0;
  const store: HistoryStore = {
    append: (...args) => inner.append(...args),
    position: (topic) => inner.position(topic),
    range: async (topic, since) => {
      reads += 1;
      await new Promise<void>((resolve) => waiting.push(resolve));
      return inner.range(topic, since);
    },
  };
  return { store, reads: () => reads, release: () => waiting.splice(0).forEach((r) => r()) };
}

test('rejoins reading the same position at the same time share one read; other positions and later reads do not', async () => {
  const inner = new MemoryHistoryStore();
  const policy = { maxMessages: 100 };
  let at: StreamPosition = await inner.position('room:1');
  for (let i = 1; i <= 5; i++) at = await inner.append('room:1', 'msg', { i }, policy);
  const gated = gatedStore(inner);
  const shared = new SharedRanges(gated.store);
  const since = { epoch: at.epoch, offset: 2 };
  const same = Array.from({ length: 50 }, () => shared.range('room:1', { ...since }));
  const other = shared.range('room:1', { epoch: at.epoch, offset: 3 });
  const otherTopic = shared.range('room:2', { ...since });
  assert.equal(gated.reads(), 3, 'one read per distinct topic and position');
  assert.equal(shared.inFlight, 3);
  gated.release();
  const results = await Promise.all(same);
  const first = results[0] as Extract<RecoveryResult, { recovered: true }>;
  assert.deepEqual(first.entries.map((e) => e.offset), [3, 4, 5]);
  assert.ok(results.every((r) => r === first), 'every caller got the one answer');
  assert.deepEqual(((await other) as Extract<RecoveryResult, { recovered: true }>).entries.map((e) => e.offset), [4, 5]);
  assert.equal((await otherTopic).recovered, false, 'room:2 has another epoch');
  assert.equal(shared.inFlight, 0, 'nothing kept once the reads settled');
  const later = shared.range('room:1', since);
  assert.equal(gated.reads(), 4, 'a read after the first settled goes to the store again');
  gated.release();
  await later;
});

test('a failed read fails every caller that shared it and is forgotten', async () => {
  let calls = 0;
  const failing: HistoryStore = {
    append: () => Promise.reject(new Error('unused')),
    position: () => Promise.reject(new Error('unused')),
    range: () => {
      calls += 1;
      return Promise.reject(new Error('store down'));
    },
  };
  const shared = new SharedRanges(failing);
  const since = { epoch: 'e', offset: 1 };
  const outcomes = await Promise.allSettled([shared.range('t', since), shared.range('t', since)]);
  assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
  assert.equal(calls, 1);
  assert.equal(shared.inFlight, 0);
  await assert.rejects(shared.range('t', since), /store down/);
  assert.equal(calls, 2);
});
