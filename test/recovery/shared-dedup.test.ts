import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { decodeRecord, encodeOutcome } from '../../src/broker/dedup-redis.ts';
import { RedisBroker } from '../../src/broker/redis.ts';
import type { DedupClaim, DedupOutcome, DedupStore } from '../../src/broker/types.ts';
import type { Frame } from '../../src/protocol/frame.ts';
import { ObserverSet } from '../../src/server/observer.ts';
import { PushDedup } from '../../src/server/recovery/channel-recovery.ts';
import { PushDeduplicator, SharedDedupReasons, type DedupDecision, type PushDedupOptions } from '../../src/server/recovery/push-dedup.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? `TETHER_SKIP_REDIS=1: Redis at ${url} not used, shared de-duplication scenarios skipped` : undefined;

/** A clock that only moves when the code under test sleeps: polling runs in virtual time. */
function virtualTime(): Pick<PushDedupOptions, 'now' | 'sleep'> {
  let t = 0;
  return { now: () => t, sleep: (ms) => ((t += ms), Promise.resolve()) };
}

const reply = (n: number): DedupOutcome => ({ kind: 'reply', status: 'ok', response: { n } });

test('stored outcomes round-trip: JSON reply, binary reply, no reply, crash', () => {
  const outcomes: DedupOutcome[] = [
    reply(1),
    { kind: 'reply', status: 'error', response: new Uint8Array([0, 255, 7]) },
    { kind: 'noreply' },
    { kind: 'crash' },
  ];
  for (const outcome of outcomes) assert.deepEqual(decodeRecord(encodeOutcome(outcome)), { state: 'done', outcome });
  assert.deepEqual(decodeRecord('r'), { state: 'running' });
  assert.throws(() => decodeRecord('x{}'), /unknown kind/);
});

/** An in-test store: records every call, fails when told to. */
class ScriptedStore implements DedupStore {
  readonly calls: string[] = [];
  failNext = false;
  readonly records = new Map<string, DedupClaim>();
  async claim(scope: string, id: string): Promise<DedupClaim> {
    this.calls.push(`claim ${id}`);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('store down');
    }
    const seen = this.records.get(scope + id);
    if (seen) return seen;
    this.records.set(scope + id, { state: 'running' });
    return { state: 'new' };
  }
  async complete(scope: string, id: string, outcome: DedupOutcome): Promise<void> {
    this.records.set(scope + id, { state: 'done', outcome });
  }
  async release(scope: string, id: string): Promise<void> {
    this.records.delete(scope + id);
  }
}

const frame = (ref: string, meta?: Frame['meta']): Frame => ({ joinRef: '1', ref, topic: 'room:1', event: 'say', payload: {}, meta });

test('a push without an outbox id never touches the shared store', () => {
  const store = new ScriptedStore();
  const dedup = new PushDedup(new PushDeduplicator({ store }), 'c', 'room:1', new ObserverSet(), () => {});
  assert.equal(dedup.shared, true);
  assert.equal(dedup.beginShared(frame('1')), true);
  assert.deepEqual(store.calls, []);
});

test('an unreachable store answers dedup_unavailable without running, and the next resend retries', async () => {
  const store = new ScriptedStore();
  const errors: Error[] = [];
  const d = new PushDeduplicator({ store, onError: (e) => errors.push(e), ...virtualTime() });
  store.failNext = true;
  const first = await d.beginShared('c', 't', 'm');
  assert.equal(first.kind, 'duplicate');
  if (first.kind === 'duplicate') assert.deepEqual(await first.outcome, { kind: 'reply', status: 'error', response: { reason: SharedDedupReasons.unavailable } });
  assert.equal(errors[0]?.message, 'store down');
  assert.equal((await d.beginShared('c', 't', 'm')).kind, 'run');
});

test('a claim that expired while a resend polled is given back, answered dedup_pending, and runs on the next resend', async () => {
  const store = new ScriptedStore();
  const clock = virtualTime();
  const onB = new PushDeduplicator({
    store,
    now: clock.now,
    // The first node's claim lapses during the first wait, as if it died mid-run.
    sleep: (ms) => (store.records.clear(), clock.sleep!(ms)),
  });
  await store.claim('c', 't\u0000m');
  const resend = await onB.beginShared('c', 't', 'm');
  assert.equal(resend.kind, 'duplicate');
  if (resend.kind === 'duplicate') assert.deepEqual(await resend.outcome, { kind: 'reply', status: 'error', response: { reason: SharedDedupReasons.pending } });
  assert.equal(store.records.size, 0);
  assert.equal((await onB.beginShared('c', 't', 'm')).kind, 'run');
});

describe('two nodes sharing one Redis', { skip }, () => {
  const prefix = `t${process.pid}dd:`;
  let a: RedisBroker;
  let b: RedisBroker;
  before(async () => {
    a = new RedisBroker({ url, keyPrefix: prefix });
    b = new RedisBroker({ url, keyPrefix: prefix });
    await Promise.all([a.start(), b.start()]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    const admin = createClient({ url });
    await admin.connect();
    for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await admin.del(keys);
    await admin.close();
  });

  test('a push answered by node A and resent to node B gets A\'s reply with {dup:true}; the handler ran once', async () => {
    const sent: { node: string; ref: string | null; status: string; response: unknown; meta: unknown }[] = [];
    let runs = 0;
    const node = (name: string, broker: RedisBroker) =>
      new PushDedup(new PushDeduplicator({ store: broker.dedup }), 'user-1\u0000cid-1', 'room:1', new ObserverSet(), (ref, status, response, meta) =>
        sent.push({ node: name, ref, status, response, meta }),
      );
    // Each push runs the way a channel does: the handler only when begin says so, then settle with its reply.
    const push = async (dedup: PushDedup, ref: string) => {
      if (await dedup.beginShared(frame(ref, { id: 'X' }))) {
        runs++;
        dedup.settle(ref, { status: 'ok', response: { run: runs } });
      }
    };
    await push(node('A', a), '5');
    await push(node('B', b), '9');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(runs, 1);
    assert.deepEqual(sent, [{ node: 'B', ref: '9', status: 'ok', response: { run: 1 }, meta: { dup: true } }]);
  });

  test('a resend on B while A still runs waits for A\'s outcome', async () => {
    const onA = new PushDeduplicator({ store: a.dedup });
    const onB = new PushDeduplicator({ store: b.dedup });
    const first = await onA.beginShared('c2', 'room:1', 'Y');
    assert.equal(first.kind, 'run');
    const second: DedupDecision = await onB.beginShared('c2', 'room:1', 'Y');
    assert.equal(second.kind, 'duplicate');
    setTimeout(() => first.kind === 'run' && first.settle(reply(42)), 30);
    if (second.kind === 'duplicate') assert.deepEqual(await second.outcome, reply(42));
  });

  test('a resend on B gives up after sharedWaitMs with dedup_pending; the id stays claimed by A', async () => {
    const onA = new PushDeduplicator({ store: a.dedup });
    const onB = new PushDeduplicator({ store: b.dedup, sharedWaitMs: 500, ...virtualTime() });
    assert.equal((await onA.beginShared('c3', 'room:1', 'Z')).kind, 'run');
    const second = await onB.beginShared('c3', 'room:1', 'Z');
    assert.equal(second.kind, 'duplicate');
    if (second.kind === 'duplicate') {
      assert.deepEqual(await second.outcome, { kind: 'reply', status: 'error', response: { reason: SharedDedupReasons.pending } });
    }
    assert.deepEqual(await b.dedup.claim('c3', 'room:1\u0000Z', 1000), { state: 'running' });
  });

  test('a claim expires after claimTtlMs, and a finished record after ttlMs', async () => {
    const onA = new PushDeduplicator({ store: a.dedup, claimTtlMs: 40, ttlMs: 60 });
    const run = await onA.beginShared('c4', 'room:1', 'W');
    assert.equal(run.kind, 'run');
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(await b.dedup.claim('c4', 'room:1\u0000W', 40), { state: 'new' });
    if (run.kind === 'run') run.settle(reply(1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(await b.dedup.claim('c4', 'room:1\u0000W', 40), { state: 'done', outcome: reply(1) });
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(await b.dedup.claim('c4', 'room:1\u0000W', 40), { state: 'new' });
  });
});
