/**
 * Broker gaps: messages the broker dropped are recovered from the topic's history and delivered in order
 * before later live ones; when the history cannot fill the hole, subscribers are told to rejoin; topics
 * without history are reported to observers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import type { HistoryPolicy } from '../../src/broker/types.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';

/** A memory broker whose pub/sub "drops" messages: they reach the history but no subscriber. */
class LossyBroker extends MemoryBroker {
  drop(topic: string, event: string, payload: { n: number }, policy: HistoryPolicy): void {
    this.history.appendNow(topic, event, payload, policy);
  }
  reportGap(topics: string[]): void {
    this.emit('gap', topics);
  }
}

const policy: HistoryPolicy = { maxMessages: 3 };
const logged: ChannelDefinition = { join: () => ok(), history: policy };
const plain: ChannelDefinition = { join: () => ok() };

async function setup() {
  const broker = new LossyBroker({ nodeId: 'n1' });
  const s = await startServer({ broker, channels: { 'log:*': logged, 'plain:*': plain } });
  const gaps: string[][] = [];
  const errors: string[] = [];
  s.server.observe({ brokerGap: ({ topics }) => gaps.push(topics), error: (e, ctx) => errors.push(`${ctx}: ${e.message}`) });
  const tether = await RawClient.connect(s.endpoint({ tether: '1' }));
  const stock = await RawClient.connect(s.endpoint());
  return { broker, s, gaps, errors, tether, stock };
}

/** The payloads' `n` of the next `count` broadcasts (with the position meta when one is carried). */
async function received(c: RawClient, count: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const f = (await c.json()) as unknown[];
    out.push(f.length > 5 ? [(f[4] as { n: number }).n, (f[5] as { o: number }).o] : (f[4] as { n: number }).n);
  }
  return out;
}

test('after a gap event, missed messages of a history topic are replayed in order before live ones, to opted-in and stock clients', async (t) => {
  const { broker, s, tether, stock, errors } = await setup();
  t.after(() => s.server.close());
  const reply = (await join(tether, 'log:a', '1')) as unknown[];
  const epoch = (reply[5] as { e: string }).e;
  await join(stock, 'log:a', '1');
  s.server.broadcast('log:a', 'm', { n: 1 });
  assert.deepEqual(await received(tether, 1), [[1, 1]]);
  assert.deepEqual(await received(stock, 1), [1]);
  broker.drop('log:a', 'm', { n: 2 }, policy);
  broker.drop('log:a', 'm', { n: 3 }, policy);
  broker.reportGap(['log:a']);
  s.server.broadcast('log:a', 'm', { n: 4 });
  assert.deepEqual(await received(tether, 3), [[2, 2], [3, 3], [4, 4]]);
  assert.deepEqual(await received(stock, 3), [2, 3, 4]);
  assert.ok(await tether.silentFor(50), 'no duplicate');
  const frame = (await (async () => { s.server.broadcast('log:a', 'm', { n: 5 }); return tether.json(); })()) as unknown[];
  assert.deepEqual(frame[5], { o: 5, e: epoch });
  assert.deepEqual(errors, []);
});

test('a hole larger than the history: every subscriber gets phx_error and an opted-in rejoin answers recovered:false', async (t) => {
  const { broker, s, tether, stock, errors } = await setup();
  t.after(() => s.server.close());
  const left: string[] = [];
  s.server.observe({ channelLeft: ({ reason }) => left.push(reason) });
  await join(tether, 'log:c', '1');
  await join(stock, 'log:c', '1');
  s.server.broadcast('log:c', 'm', { n: 1 });
  const [[, offset]] = (await received(tether, 1)) as [number, number][];
  await received(stock, 1);
  for (let n = 2; n <= 6; n++) broker.drop('log:c', 'm', { n }, policy);
  broker.reportGap(['log:c']);
  for (const c of [tether, stock]) assert.deepEqual(await c.json(), ['1', '1', 'log:c', 'phx_error', { reason: 'broker_gap' }]);
  assert.deepEqual(left, ['gap', 'gap']);
  assert.equal(s.server.topics().get('log:c'), undefined);
  assert.ok(errors.some((e) => /log:c.*gap_too_large.*2 subscriber/.test(e)), errors.join('\n'));
  assert.equal(((await join(stock, 'log:c', '2')) as unknown[]).length, 5, 'a stock client rejoins with plain frames');
  tether.send(['3', '3', 'log:c', 'phx_join', {}, { since: { o: offset, e: (await broker.history.position('log:c')).epoch } }]);
  const rejoin = (await tether.json()) as unknown[];
  assert.equal((rejoin[4] as { status: string }).status, 'ok');
  assert.deepEqual({ ...(rejoin[5] as object), e: undefined }, { recovered: false, reason: 'gap_too_large', o: 6, e: undefined });
});

test('a gap on a history topic this node has delivered nothing on yet: subscribers rejoin', async (t) => {
  const { broker, s, stock } = await setup();
  t.after(() => s.server.close());
  await join(stock, 'log:d', '1');
  broker.reportGap(['log:d']);
  assert.deepEqual(await stock.json(), ['1', '1', 'log:d', 'phx_error', { reason: 'broker_gap' }]);
});

test('topics without history are reported through observer.brokerGap in one call, and nothing is sent', async (t) => {
  const { broker, s, stock, gaps } = await setup();
  t.after(() => s.server.close());
  await join(stock, 'plain:x', '1');
  await join(stock, 'plain:y', '2');
  await join(stock, 'log:e', '3');
  s.server.broadcast('log:e', 'm', { n: 1 });
  await received(stock, 1);
  broker.reportGap(['plain:x', 'plain:y', 'log:e']);
  assert.deepEqual(gaps, [['plain:x', 'plain:y']]);
  assert.ok(await stock.silentFor(50), 'nothing was missed on log:e, nothing is replayed');
});
