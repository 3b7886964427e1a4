/** Encode once per wire format, frame once, write the same bytes to every subscriber. */
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import type { Payload } from '../../src/protocol/frame.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { EncodedBroadcast, Fanout, type Subscriber } from '../../src/server/fanout.ts';
import { ObserverSet } from '../../src/server/observer.ts';
import type { SharedFrame } from '../../src/server/transport.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';

function fakeSubscriber(topic: string, vsn: 1 | 2, connectionId: string, intercepts: string[] | null = null) {
  const got: SharedFrame[] = [];
  const out: string[] = [];
  const sub: Subscriber = {
    topic,
    vsn,
    connectionId,
    intercepts: intercepts ? new Set(intercepts) : null,
    sendShared: (f) => got.push(f),
    handleOut: (event) => out.push(event),
    resync: () => out.push('resync'),
  };
  return { sub, got, out };
}

/** How many times `run` makes JSON.stringify encode `payload` (as a whole). */
async function stringifyCalls(payload: object, run: () => unknown): Promise<number> {
  const originalStringify = JSON.stringify;
  let calls = 0;
  JSON.stringify = ((value: unknown, ...rest: []) => {
    if (value === payload) calls++;
    return originalStringify(value, ...rest);
  }) as typeof JSON.stringify;
  try {
    await run();
  } finally {
    JSON.stringify = originalStringify;
  }
  return calls;
}

test('EncodedBroadcast stringifies the payload once and builds each format once', async () => {
  const payload = { body: 'hi' };
  const calls = await stringifyCalls(payload, () => {
    const b = new EncodedBroadcast('room:lobby', 'new_msg', payload);
    assert.equal(b.v2(), b.v2());
    assert.equal(b.v1(), b.v1());
    assert.equal(b.v2().data, '[null,null,"room:lobby","new_msg",{"body":"hi"}]');
    assert.equal(b.v1()!.data, '{"event":"new_msg","payload":{"body":"hi"},"ref":null,"topic":"room:lobby"}');
  });
  assert.equal(calls, 1);
  const bin = new EncodedBroadcast('topic', 'event', new Uint8Array([0x65, 0x66, 0x67]));
  assert.equal(Buffer.from(bin.v2().data as Uint8Array).toString('hex'), '020505746f7069636576656e74656667');
  assert.equal(bin.v1(), null, 'V1 cannot carry bytes');
});

test('Fanout hands the same SharedFrame object to every subscriber of a format, skips exclude, routes intercepts', async () => {
  const broker = new MemoryBroker({ nodeId: 'n1' });
  await broker.start();
  const observers = new ObserverSet();
  const out: [number, number][] = [];
  const errors: string[] = [];
  observers.add({ frameOut: (bytes, frames) => out.push([bytes, frames]), error: (e) => errors.push(e.message) });
  const fanout = new Fanout(broker, observers, () => {});
  broker.on('message', fanout.deliver);
  const v2 = Array.from({ length: 10 }, (_, i) => fakeSubscriber('t', 2, `c${i}`));
  const v1 = Array.from({ length: 3 }, (_, i) => fakeSubscriber('t', 1, `v${i}`));
  const intercepting = fakeSubscriber('t', 2, 'x', ['e']);
  for (const s of [...v2, ...v1, intercepting]) await fanout.subscribe(s.sub);
  await broker.publish({ topic: 't', event: 'e', payload: { n: 1 }, exclude: 'c0' });
  assert.equal(v2[0].got.length, 0, 'excluded sender');
  const frame = v2[1].got[0];
  for (const s of v2.slice(1)) assert.equal(s.got[0], frame, 'same object for every V2 subscriber');
  for (const s of v1) assert.equal(s.got[0], v1[0].got[0]);
  assert.notEqual(v1[0].got[0], frame);
  assert.deepEqual(intercepting.out, ['e']);
  assert.deepEqual(out, [[9 * frame.byteLength + 3 * v1[0].got[0].byteLength, 12]]);
  await broker.publish({ topic: 't', event: 'b', payload: new Uint8Array([1]) });
  assert.equal(v1[0].got.length, 1, 'V1 gets no binary broadcast…');
  assert.match(errors[0], /cannot reach 3 V1/, '…and the skip is reported, not silent');
});

test('over real sockets: one broadcast to many subscribers is written as one shared framed buffer', async () => {
  const room: ChannelDefinition = { join: () => ok() };
  const s = await startServer({ channels: { 'room:*': room } });
  const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(s.endpoint())));
  for (const c of clients) await join(c, 'room:fan', '1');
  const written: unknown[] = [];
  const originalWrite = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    written.push(chunk);
    return (originalWrite as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof Socket.prototype.write;
  const payload: Payload = { body: 'x'.repeat(300) };
  try {
    s.server.broadcast('room:fan', 'msg', payload);
  } finally {
    Socket.prototype.write = originalWrite;
  }
  assert.equal(written.length, 20, 'one write per subscriber');
  assert.ok(written.every((w) => w === written[0]), 'the same Buffer object every time');
  for (const c of clients) assert.deepEqual(await c.json(), [null, null, 'room:fan', 'msg', payload]);
  for (const c of clients) c.close();
  await s.server.close();
});

test('a broadcast on a history-enabled topic is stringified once, for the stored entry and for every live format', async () => {
  const feed: ChannelDefinition = { join: () => ok(), history: { maxMessages: 10 } };
  const s = await startServer({ channels: { 'feed:*': feed } });
  const stock = await RawClient.connect(s.endpoint());
  const positioned = await RawClient.connect(s.endpoint({ tether: '1' }));
  const v1 = await RawClient.connect(s.endpoint({ vsn: '1.0.0' }));
  for (const c of [stock, positioned]) await join(c, 'feed:once', '1');
  v1.send(JSON.stringify({ topic: 'feed:once', event: 'phx_join', payload: {}, ref: '1', join_ref: '1' }));
  await v1.json();
  const payload = { body: 'héllo', n: 1 };
  assert.equal(await stringifyCalls(payload, () => s.server.broadcast('feed:once', 'msg', payload)), 1);
  assert.deepEqual(await stock.json(), [null, null, 'feed:once', 'msg', payload]);
  const live = (await positioned.json()) as unknown[];
  assert.deepEqual(live.slice(0, 5), [null, null, 'feed:once', 'msg', payload]);
  assert.deepEqual(await v1.json(), { topic: 'feed:once', event: 'msg', payload, ref: null });
  // The stored entry is that same text: a rejoin from before it replays the payload unchanged.
  const { o, e } = live[5] as { o: number; e: string };
  const late = await RawClient.connect(s.endpoint({ tether: '1' }));
  late.send(['2', '2', 'feed:once', 'phx_join', {}, { since: { o: o - 1, e } }]);
  assert.deepEqual(((await late.json()) as unknown[]).slice(3, 5), ['phx_reply', { status: 'ok', response: {} }]);
  assert.deepEqual(((await late.json()) as unknown[]).slice(2, 5), ['feed:once', 'msg', payload]);
  await s.server.close();
});
