import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ENTRY_OVERHEAD_BYTES, MemoryHistoryStore } from '../../src/broker/history-memory.ts';

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

/** The bytes the store charges one entry: encoded payload + event name + the fixed per-entry overhead. */
const charge = (payload: unknown, event = 'e') => Buffer.byteLength(JSON.stringify(payload)) + Buffer.byteLength(event) + ENTRY_OVERHEAD_BYTES;

test('bytes are charged as the encoded payload (UTF-8 JSON or raw bytes) plus the event and a fixed overhead', () => {
  const store = new MemoryHistoryStore();
  store.appendNow('t', 'e', { s: 'héllo' }, { maxMessages: 10 });
  store.appendNow('t', 'bin', new Uint8Array(1000), { maxMessages: 10 });
  const expected = charge({ s: 'héllo' }) + 1000 + 3 + ENTRY_OVERHEAD_BYTES;
  assert.deepEqual(store.usage('t'), { messages: 2, bytes: expected });
  assert.equal(store.totalBytes, expected);
});

test('maxTopicBytes evicts the oldest entries of the topic; a rejoin from an evicted offset is not recovered', async () => {
  const payload = { blob: 'x'.repeat(1000) };
  const store = new MemoryHistoryStore({ maxTopicBytes: charge(payload) * 3 });
  let epoch = '';
  for (let i = 0; i < 10; i++) epoch = store.appendNow('t', 'e', payload, { maxMessages: 1000 }).epoch;
  assert.deepEqual(store.usage('t'), { messages: 3, bytes: charge(payload) * 3 });
  assert.deepEqual(await store.range('t', { epoch, offset: 6 }), { recovered: false, reason: 'gap_too_large', position: { epoch, offset: 10 } });
  const r = await store.range('t', { epoch, offset: 7 });
  assert.ok(r.recovered);
  assert.deepEqual(r.entries.map((e) => e.offset), [8, 9, 10]);
});

test('maxTotalBytes evicts the oldest entries of any topic first', async () => {
  const payload = { blob: 'y'.repeat(500) };
  const store = new MemoryHistoryStore({ maxTotalBytes: charge(payload) * 4 });
  const a = store.appendNow('a', 'e', payload, {}).epoch;
  store.appendNow('a', 'e', payload, {});
  const b = store.appendNow('b', 'e', payload, {}).epoch;
  store.appendNow('b', 'e', payload, {});
  store.appendNow('c', 'e', payload, {});
  // a's first entry was the oldest of all.
  assert.deepEqual([store.usage('a').messages, store.usage('b').messages, store.usage('c').messages], [1, 2, 1]);
  assert.equal(store.totalBytes, charge(payload) * 4);
  assert.equal((await store.range('a', { epoch: a, offset: 0 })).recovered, false);
  assert.equal((await store.range('a', { epoch: a, offset: 1 })).recovered, true);
  store.appendNow('c', 'e', payload, {});
  store.appendNow('c', 'e', payload, {});
  assert.deepEqual([store.usage('a').messages, store.usage('b').messages, store.usage('c').messages], [0, 1, 3]);
  assert.equal((await store.range('b', { epoch: b, offset: 0 })).recovered, false);
});

test('maxTopics drops the topic appended to least recently; its old positions answer epoch_changed', async () => {
  const store = new MemoryHistoryStore({ maxTopics: 2 });
  const a = store.appendNow('a', 'e', {}, {});
  store.appendNow('b', 'e', {}, {});
  store.appendNow('a', 'e', {}, {});
  store.appendNow('c', 'e', {}, {}); // b is the least recently appended
  assert.equal(store.topicCount, 2);
  assert.equal(store.usage('b').messages, 0);
  assert.equal((await store.range('a', { epoch: a.epoch, offset: 1 })).recovered, true);
  store.appendNow('a', 'e', {}, {});
  store.appendNow('d', 'e', {}, {}); // c is now the least recently appended
  assert.equal(store.usage('c').messages, 0);
  assert.equal(store.usage('a').messages, 3);
});

test('the sweep drops a topic with no subscriber and no append for its TTL (or idleMs); touch restarts the wait', async () => {
  let now = 0;
  const subscribed = new Set<string>();
  const store = new MemoryHistoryStore({ now: () => now, hasSubscribers: (t) => subscribed.has(t) });
  const a = store.appendNow('a', 'e', { n: 1 }, { ttlMs: 1000 });
  store.appendNow('b', 'e', { n: 1 }, { ttlMs: 1000 });
  store.appendNow('count-only', 'e', { n: 1 }, { maxMessages: 5 });
  subscribed.add('b');
  now = 999;
  store.sweep();
  assert.equal(store.topicCount, 3);
  now = 1000;
  store.sweep();
  // a: idle for its TTL, no subscriber -> dropped; b: subscribed -> kept (its entry expired); count-only: no TTL -> kept.
  assert.equal(store.topicCount, 2);
  assert.deepEqual(store.usage('b'), { messages: 0, bytes: 0 });
  assert.equal(store.usage('count-only').messages, 1);
  const again = await store.range('a', { epoch: a.epoch, offset: 1 });
  assert.equal(again.recovered, false);
  assert.equal(!again.recovered && again.reason, 'epoch_changed');
  subscribed.delete('b');
  store.touch('b');
  now = 1999;
  store.sweep();
  assert.ok(store.topicCount >= 2 && store.usage('count-only').messages === 1);
  const withIdle = new MemoryHistoryStore({ now: () => now, idleMs: 50 });
  withIdle.appendNow('x', 'e', {}, { maxMessages: 5 });
  now += 50;
  withIdle.sweep();
  assert.equal(withIdle.topicCount, 0);
});

test('the store keeps its own encoded copy: mutating the published object does not rewrite history', async () => {
  const store = new MemoryHistoryStore();
  const payload = { n: 1 };
  const { epoch } = store.appendNow('t', 'e', payload, {});
  payload.n = 2;
  const r = await store.range('t', { epoch, offset: 0 });
  assert.ok(r.recovered);
  assert.deepEqual(r.entries[0].payload, { n: 1 });
});

test('a long run under a per-topic bound keeps the totals exact', () => {
  const store = new MemoryHistoryStore({ maxTotalBytes: 64 * 1024 });
  for (let i = 0; i < 20_000; i++) store.appendNow(`t${i % 7}`, 'e', { i }, { maxMessages: 50 });
  let sum = 0;
  for (let t = 0; t < 7; t++) sum += store.usage(`t${t}`).bytes;
  assert.equal(store.totalBytes, sum);
  assert.ok(store.totalBytes <= 64 * 1024);
});

test('an evicted entry lets go of its payload at once, not when its slot is compacted away', async () => {
  const store = new MemoryHistoryStore({ maxTopicBytes: 5 * 1024 * 1024 });
  // 200 x 1 MiB through a 5 MiB topic: were evicted slots to keep their bytes, ~200 MiB would stay reachable.
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 200; i++) store.appendNow('t', 'e', new Uint8Array(1024 * 1024), {});
  fullGc();
  const held = process.memoryUsage().arrayBuffers - before;
  assert.ok(store.totalBytes <= 5 * 1024 * 1024);
  assert.ok(held < 32 * 1024 * 1024, `held ${(held / 1048576).toFixed(0)} MiB`);
});

function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
