import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PushDeduplicator, type PushOutcome } from '../../src/server/recovery/push-dedup.ts';

const ok: PushOutcome = { kind: 'reply', status: 'ok', response: { n: 1 } };

test('the first sight of an id runs; a resend gets the stored outcome', async () => {
  const d = new PushDeduplicator();
  const first = d.begin('client', 'room:1', 'm1');
  assert.equal(first.kind, 'run');
  if (first.kind === 'run') first.settle(ok);
  const again = d.begin('client', 'room:1', 'm1');
  assert.equal(again.kind, 'duplicate');
  if (again.kind === 'duplicate') assert.deepEqual(await again.outcome, ok);
});

test('a resend while the first run is in progress waits for its outcome', async () => {
  const d = new PushDeduplicator();
  const first = d.begin('c', 't', 'm');
  const second = d.begin('c', 't', 'm');
  const third = d.begin('c', 't', 'm');
  assert.equal(first.kind, 'run');
  assert.equal(second.kind, 'duplicate');
  let settled = false;
  const waiting = second.kind === 'duplicate' ? second.outcome.then((o) => ((settled = true), o)) : null;
  await Promise.resolve();
  assert.equal(settled, false);
  if (first.kind === 'run') {
    first.settle({ kind: 'noreply' });
    first.settle(ok); // a second settle is ignored
  }
  assert.deepEqual(await waiting, { kind: 'noreply' });
  if (third.kind === 'duplicate') assert.deepEqual(await third.outcome, { kind: 'noreply' });
});

test('scopes and topics are separate key spaces', () => {
  const d = new PushDeduplicator();
  assert.equal(d.begin('alice', 'room:1', 'm').kind, 'run');
  assert.equal(d.begin('bob', 'room:1', 'm').kind, 'run');
  assert.equal(d.begin('alice', 'room:2', 'm').kind, 'run');
  assert.equal(d.begin('alice', 'room:1', 'm').kind, 'duplicate');
});

test('ids are forgotten after the TTL and beyond the per-client bound', () => {
  let now = 0;
  const d = new PushDeduplicator({ ttlMs: 1000, maxEntriesPerClient: 2, now: () => now });
  d.begin('c', 't', 'a');
  now += 1001;
  assert.equal(d.begin('c', 't', 'a').kind, 'run', 'expired after the TTL');
  d.begin('c', 't', 'b');
  d.begin('c', 't', 'c');
  assert.equal(d.begin('c', 't', 'a').kind, 'run', 'evicted by the count bound');
});

test('the number of client scopes is bounded', () => {
  const d = new PushDeduplicator({ maxClients: 3 });
  for (let i = 0; i < 10; i++) d.begin(`c${i}`, 't', 'm');
  assert.equal(d.clientCount, 3);
});
