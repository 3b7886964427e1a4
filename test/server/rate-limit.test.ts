/** Per-connection limits: message and join rates (token buckets in virtual time) and the connect hook's deadline. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseCodes } from '../../src/protocol/close-codes.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { RateVerdict, TokenBucket } from '../../src/server/rate-limit.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { join, RawClient, startServer, upgradeStatus } from '../helpers/server-fixtures.ts';

const room: ChannelDefinition = { join: () => ok(), handleIn: (_e, payload) => ok(payload) };
const limited = (ref: string, topic = 'room:a', jr: string | null = '1') => [jr, ref, topic, 'phx_reply', { response: { reason: 'rate limited' }, status: 'error' }];

test('TokenBucket: a burst, then refusals, then "exceeded" one burst of refusals later; refills at the rate', () => {
  const limit = { perSecond: 2, burst: 3 };
  const bucket = new TokenBucket(limit, 0);
  const at = (now: number, n: number) => Array.from({ length: n }, () => bucket.take(limit, now));
  assert.deepEqual(at(0, 3), [RateVerdict.ok, RateVerdict.ok, RateVerdict.ok]);
  assert.deepEqual(at(0, 3), [RateVerdict.limited, RateVerdict.limited, RateVerdict.limited]);
  assert.deepEqual(at(0, 2), [RateVerdict.exceeded, RateVerdict.exceeded]);
  // Refusals count: the debt (capped at one burst plus one) takes 2 s at 2/s to pay back, then tokens come.
  assert.deepEqual(at(2000, 1), [RateVerdict.limited]);
  assert.deepEqual(at(3000, 2), [RateVerdict.ok, RateVerdict.limited]);
  const fresh = new TokenBucket(limit, 0);
  fresh.take(limit, 0);
  assert.deepEqual(Array.from({ length: 4 }, () => fresh.take(limit, 10_000)), [RateVerdict.ok, RateVerdict.ok, RateVerdict.ok, RateVerdict.limited], 'never more than the burst');
});

test('messages over the rate get {reason: "rate limited"}; the neighbour is unaffected; a persistent sender is closed with 4002', async (t) => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, channels: { 'room:*': room }, messagesPerSecond: 5, messageBurst: 4 });
  t.after(() => s.server.close());
  const seen: string[] = [];
  s.server.observe({ rateLimited: ({ kind, event }) => seen.push(`${kind}:${event}`) });
  const fast = await RawClient.connect(s.endpoint());
  const calm = await RawClient.connect(s.endpoint());
  await join(fast, 'room:a', '1');
  await join(calm, 'room:a', '1');
  for (let i = 2; i <= 5; i++) fast.send(['1', String(i), 'room:a', 'echo', { i }]);
  for (let i = 2; i <= 4; i++) assert.deepEqual(await fast.json(), ['1', String(i), 'room:a', 'phx_reply', { response: { i }, status: 'ok' }]);
  assert.deepEqual(await fast.json(), limited('5'));
  fast.send([null, '6', 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(await fast.json(), limited('6', 'phoenix', null), 'heartbeats count too');
  calm.send(['1', '2', 'room:a', 'echo', { calm: true }]);
  assert.deepEqual(await calm.json(), ['1', '2', 'room:a', 'phx_reply', { response: { calm: true }, status: 'ok' }]);
  clock.advance(1000);
  fast.send(['1', '7', 'room:a', 'echo', { again: true }]);
  assert.deepEqual(await fast.json(), ['1', '7', 'room:a', 'phx_reply', { response: { again: true }, status: 'ok' }], 'refilled after a second');
  for (let i = 8; i < 30; i++) fast.send(['1', String(i), 'room:a', 'echo', {}]);
  const closed = await fast.closed;
  assert.equal(closed.code, CloseCodes.rateLimited);
  assert.match(closed.reason, /rate limited: over 5 messages\/s beyond a burst of 4/);
  assert.ok(seen.length >= 5 && seen.every((k) => k.startsWith('message:')));
  calm.send(['1', '3', 'room:a', 'echo', {}]);
  assert.equal(((await calm.json()) as [unknown, string])[1], '3', 'the neighbour lives on');
  calm.close();
});

test('joins have their own, smaller budget: the next join is refused with "rate limited" and joinRejected', async (t) => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, channels: { 'room:*': room }, joinsPerSecond: 1, joinBurst: 2 });
  t.after(() => s.server.close());
  const rejected: string[] = [];
  s.server.observe({ joinRejected: ({ topic, reason, pattern }) => rejected.push(`${topic} ${pattern} ${reason}`) });
  const c = await RawClient.connect(s.endpoint());
  assert.equal(((await join(c, 'room:1', '1')) as [unknown, unknown, unknown, unknown, { status: string }])[4].status, 'ok');
  assert.equal(((await join(c, 'room:2', '2')) as [unknown, unknown, unknown, unknown, { status: string }])[4].status, 'ok');
  assert.deepEqual(await join(c, 'room:3', '3'), limited('3', 'room:3', '3'));
  assert.deepEqual(rejected, ['room:3 room:* rate limited']);
  c.send(['1', '4', 'room:1', 'echo', {}]);
  assert.equal(((await c.json()) as [unknown, unknown, unknown, unknown, { status: string }])[4].status, 'ok', 'other messages still pass');
  clock.advance(1000);
  assert.deepEqual(await join(c, 'room:3', '5'), limited('5', 'room:3', '5'), 'the refused join counted: still in debt');
  clock.advance(2000);
  assert.equal(((await join(c, 'room:3', '6')) as [unknown, unknown, unknown, unknown, { status: string }])[4].status, 'ok');
  c.close();
});

test('a connect hook that does not settle within connectTimeoutMs: HTTP 503 before the upgrade, and the slot is free again', async (t) => {
  const clock = new VirtualClock();
  let called = 0;
  const s = await startServer({ clock, maxConnections: 1, connectTimeoutMs: 3000, connect: ({ params }) => (params.hang ? (called++, new Promise<boolean>(() => {})) : true) });
  t.after(() => s.server.close());
  const refused: string[] = [];
  s.server.observe({ connectionRejected: ({ status, reason }) => refused.push(`${status} ${reason}`) });
  const status = upgradeStatus(s.endpoint({ hang: '1' }));
  for (let i = 0; i < 100 && called === 0; i++) await new Promise((r) => setTimeout(r, 5));
  clock.advance(2999);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(refused, []);
  clock.advance(1);
  assert.equal(await status, 503);
  assert.deepEqual(refused, ['503 connect hook did not answer within 3000 ms']);
  assert.equal(clock.pendingTimers, 2, 'only the sweep timers (connections, memory history) are left');
  assert.equal(await upgradeStatus(s.endpoint()), 101);
});
