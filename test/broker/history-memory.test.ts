import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryHistoryStore } from '../../src/broker/history-memory.ts';

test('after 5000 appends with maxMessages 10, exactly the last 10 are recoverable', async () => {
  const store = new MemoryHistoryStore();
  let epoch = '';
  for (let i = 1; i <= 5000; i++) epoch = store.appendNow('t', 'e', { i }, { maxMessages: 10 }).epoch;
  const r = await store.range('t', { epoch, offset: 4990 });
  assert.ok(r.recovered);
  assert.deepEqual(r.entries.map((e) => e.payload), Array.from({ length: 10 }, (_, k) => ({ i: 4991 + k })));
  assert.equal((await store.range('t', { epoch, offset: 4989 })).recovered, false);
});

test('TTL counts from each append on the injected clock; maxMessages and ttlMs apply together', async () => {
  let now = 0;
  const store = new MemoryHistoryStore({ now: () => now });
  const policy = { maxMessages: 3, ttlMs: 100 };
  const { epoch } = store.appendNow('t', 'a', {}, policy);
  now = 60;
  store.appendNow('t', 'b', {}, policy);
  now = 100; // 'a' is exactly ttlMs old: expired
  const r = await store.range('t', { epoch, offset: 1 });
  assert.ok(r.recovered);
  assert.deepEqual(r.entries.map((e) => e.event), ['b']);
  assert.deepEqual(await store.range('t', { epoch, offset: 0 }), { recovered: false, reason: 'gap_too_large', position: { epoch, offset: 2 } });
  for (const e of ['c', 'd', 'f']) store.appendNow('t', e, {}, policy);
  const last3 = await store.range('t', { epoch, offset: 2 });
  assert.ok(last3.recovered);
  assert.deepEqual(last3.entries.map((e) => e.event), ['c', 'd', 'f']);
});

test('every store instance draws its own epochs', async () => {
  const a = await new MemoryHistoryStore().position('t');
  const b = await new MemoryHistoryStore().position('t');
  assert.equal(a.offset, 0);
  assert.notEqual(a.epoch, b.epoch);
});
