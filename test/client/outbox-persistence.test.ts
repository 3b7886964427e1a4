/** The outbox owns its persistence: what leaves the store and when, failing stores, and timer delays that fit a timer. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MAX_TIMER_DELAY_MS, systemClock } from '../../src/client/clock.ts';
import { SqliteOutboxStore } from '../../src/client/outbox-sqlite.ts';
import type { OutboxStore, StoredMessage } from '../../src/client/outbox-store.ts';
import { Socket } from '../../src/client/socket.ts';
import { FakeNetwork } from './fake-transport.ts';
import { fakeSocket, openSocket } from './setup.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-outbox-persist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const message = (id: string, seq: number): StoredMessage => ({ id, seq, topic: 'room:1', event: 'echo', body: `{"n":${seq}}`, createdAt: Date.now(), expiresAt: null, timeoutMs: 1000 });

test('restored messages the outbox refuses (full) leave the store and are reported once, not on every restart', async () => {
  const path = join(dir, 'full.db');
  const store = new SqliteOutboxStore(path);
  for (let i = 1; i <= 3; i++) store.put(message(`m${i}`, i));
  const first = fakeSocket({ outbox: { store, maxMessages: 2 } });
  const settled: string[] = [];
  first.socket.on('settled', (s) => settled.push(`${s.id}:${s.result.status === 'rejected' && s.result.error.code}`));
  await first.socket.ready;
  assert.deepEqual(settled, ['m3:outbox_full']);
  assert.deepEqual(store.load().map((m) => m.id), ['m1', 'm2']);
  const second = fakeSocket({ outbox: { store, maxMessages: 2 } });
  second.socket.on('settled', (s) => settled.push(`again ${s.id}`));
  await second.socket.ready;
  assert.deepEqual(settled, ['m3:outbox_full'], 'not reported again');
  assert.equal(second.socket.stats().outboxDepth, 2);
  store.close();
});

/** A store whose writes the test fails on demand: synchronously, or as a rejected promise (an IndexedDB quota). */
class FlakyStore implements OutboxStore {
  readonly saved = new Map<string, StoredMessage>();
  fail: 'no' | 'throw' | 'reject' = 'no';
  load(): StoredMessage[] {
    return [...this.saved.values()];
  }
  put(m: StoredMessage): void | Promise<void> {
    if (this.fail === 'throw') throw new Error('disk full');
    if (this.fail === 'reject') return Promise.reject(new Error('QuotaExceededError'));
    return Promise.resolve().then(() => void this.saved.set(m.id, m));
  }
  delete(id: string): Promise<void> {
    this.saved.delete(id);
    return Promise.resolve();
  }
}

test('a store write that throws or rejects settles the push rejected with store_failed, emits it, and the message is never sent', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const store = new FlakyStore();
    const { socket, net, clock, errors } = await openSocket({ outbox: { store } });
    const room = socket.channel('room:1');
    room.join();
    await clock.advanceAsync(0);
    net.current.reply('phx_join');
    store.fail = 'throw';
    const thrown = room.push('echo', { n: 1 });
    store.fail = 'reject';
    const rejected = room.push('echo', { n: 2 });
    store.fail = 'no';
    const fine = room.push('echo', { n: 3 });
    assert.equal(await rejected.persisted, false);
    assert.equal(await fine.persisted, true);
    await clock.advanceAsync(0);
    for (const p of [thrown, rejected]) {
      const r = await p;
      assert.equal(r.status === 'rejected' && r.error.code, 'store_failed');
    }
    assert.deepEqual(errors.map((e) => e.code), ['store_failed', 'store_failed']);
    assert.match(errors[1].message, /QuotaExceededError.*not sent/);
    const sent = net.current.frames().filter((f) => f[3] === 'echo').map((f) => (f[4] as { n: number }).n);
    assert.deepEqual(sent, [3], 'only the durable message went out');
    net.current.reply('echo');
    assert.equal((await fine).status, 'ok');
    await clock.advanceAsync(0);
    assert.equal(store.saved.size, 0, 'settled messages leave the store');
    assert.equal(socket.stats().outboxDepth, 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a message waits for its asynchronous store write before it is sent, and order holds', async () => {
  const store = new FlakyStore();
  const { socket, net, clock } = await openSocket({ outbox: { store } });
  const room = socket.channel('room:1');
  room.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const pushes = [1, 2, 3].map((n) => room.push('echo', { n }));
  assert.equal(net.current.frames().filter((f) => f[3] === 'echo').length, 0, 'not sent before it is durable');
  await Promise.all(pushes.map((p) => p.persisted));
  assert.deepEqual(net.current.frames().filter((f) => f[3] === 'echo').map((f) => (f[4] as { n: number }).n), [1, 2, 3]);
});

test('a TTL of 2^31 ms or more does not fire at once on real timers: the delay a timer gets is clamped', async () => {
  const net = new FakeNetwork();
  const delays: number[] = [];
  const clock = { ...systemClock, setTimeout: (callback: () => void, ms: number) => (delays.push(ms), setTimeout(callback, ms)) };
  const socket = new Socket('ws://example.test/socket', { transport: net.factory, page: false, clock });
  const room = socket.channel('room:1');
  const push = room.push('echo', {}, { ttlMs: 2 ** 31 + 5 });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(push.settled, false, 'still waiting in the outbox');
  assert.ok(delays.length > 0 && delays.every((ms) => ms <= MAX_TIMER_DELAY_MS), `delays given to timers: ${delays.join(', ')}`);
  assert.equal(delays.filter((ms) => ms === MAX_TIMER_DELAY_MS).length, 1, 'armed once, not re-armed every millisecond');
  room.leave();
  assert.equal((await push).status, 'rejected');
});

test('a TTL longer than a timer can hold is re-armed when the clamped timer fires, and expires on time', async () => {
  const { socket, clock } = fakeSocket();
  const room = socket.channel('room:1');
  const ttl = 2 ** 31 + 60_000;
  const push = room.push('echo', {}, { ttlMs: ttl });
  await clock.advanceAsync(2 ** 31 - 1);
  assert.equal(push.settled, false);
  await clock.advanceAsync(60_000);
  assert.equal(push.settled, false);
  await clock.advanceAsync(1);
  const r = await push;
  assert.equal(r.status === 'rejected' && r.error.code, 'outbox_expired');
});
