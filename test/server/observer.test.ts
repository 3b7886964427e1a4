/** ServerObserver: composition, cost-free absence, isolation of a throwing observer, and the hooks' payloads. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { ok, type ChannelDefinition } from '../../src/server/index.ts';
import { ObserverSet, type ServerObserver } from '../../src/server/observer.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';

test('ObserverSet leaves unimplemented hooks undefined and fans out to every implementer', () => {
  const set = new ObserverSet();
  assert.equal(typeof set.hooks.frameOut, 'undefined');
  const seen: string[] = [];
  const off = set.add({ frameOut: (b) => seen.push(`a${b}`) });
  set.add({ frameOut: (b) => seen.push(`b${b}`), heartbeat: () => seen.push('hb') });
  set.hooks.frameOut?.(5, 1);
  off();
  set.hooks.frameOut?.(6, 1);
  assert.deepEqual(seen, ['a5', 'b5', 'b6']);
  assert.equal(set.hooks.broadcast, undefined);
});

test('a throwing observer is reported to the error hook and does not stop the others', () => {
  const set = new ObserverSet();
  const errors: string[] = [];
  let reached = false;
  set.add({ heartbeat: () => { throw new Error('bad observer'); }, error: (_e, ctx) => errors.push(ctx) });
  set.add({ heartbeat: () => { reached = true; } });
  set.hooks.heartbeat?.({ connectionId: 'c1' });
  assert.ok(reached);
  assert.deepEqual(errors, ['observer.heartbeat']);
});

test('hooks fire with the documented payloads over a real connection', async () => {
  const s = await startServer({ channels: { 'room:*': roomChannel } });
  const events: [keyof ServerObserver, unknown][] = [];
  const record = (name: keyof ServerObserver) => (info: unknown) => events.push([name, info]);
  s.server.observe({
    connectionOpened: record('connectionOpened'),
    connectionClosed: record('connectionClosed'),
    channelJoined: record('channelJoined'),
    joinRejected: record('joinRejected'),
    channelLeft: record('channelLeft'),
    handled: record('handled'),
    broadcast: record('broadcast'),
    heartbeat: record('heartbeat'),
    frameIn: record('frameIn'),
    frameOut: (bytes: number, frames: number) => events.push(['frameOut', { bytes, frames }]),
  });
  const c = await RawClient.connect(s.endpoint());
  await join(c, 'room:o', '1');
  await c.json();
  await join(c, 'room:private', '2');
  c.send(['1', '3', 'room:o', 'shout', { x: 1 }]);
  await c.json();
  c.send([null, '4', 'phoenix', 'heartbeat', {}]);
  await c.json();
  c.close();
  await c.closed;
  await s.server.close();
  const by = (name: string) => events.filter(([n]) => n === name).map(([, i]) => i);
  const opened = by('connectionOpened')[0] as { id: string; vsn: number; remoteAddress: string };
  assert.equal(opened.vsn, 2);
  assert.equal(opened.remoteAddress, '127.0.0.1');
  assert.deepEqual(by('channelJoined'), [{ connectionId: opened.id, topic: 'room:o', pattern: 'room:*' }]);
  assert.deepEqual(by('joinRejected'), [{ connectionId: opened.id, topic: 'room:private', pattern: 'room:*', reason: 'unauthorized' }]);
  assert.deepEqual(by('broadcast'), [{ topic: 'room:o', event: 'shout', recipients: 1 }]);
  assert.deepEqual(by('heartbeat'), [{ connectionId: opened.id }]);
  assert.deepEqual(by('channelLeft'), [{ connectionId: opened.id, topic: 'room:o', pattern: 'room:*', reason: 'close' }]);
  assert.equal(by('frameIn').length, 4);
  assert.ok(by('frameOut').length >= 5);
  const shout = by('handled').find((h) => (h as { event: string }).event === 'shout') as { status: string; durationMs: number };
  assert.equal(shout.status, 'noreply');
  assert.ok(shout.durationMs >= 0);
  const closed = by('connectionClosed')[0] as { id: string; code: number };
  assert.equal(closed.id, opened.id);
});

test('outboxPush and dedupHit fire on the de-duplication path of an opted-in connection only', async (t) => {
  let runs = 0;
  const def: ChannelDefinition = { join: () => ok(), handleIn: () => ok({ run: ++runs }) };
  const s = await startServer({ channels: { 'work:*': def } });
  t.after(() => s.server.close());
  const seen: string[] = [];
  s.server.observe({ outboxPush: (i) => seen.push(`push ${i.topic}`), dedupHit: (i) => seen.push(`hit ${i.topic}`) });
  const c = await RawClient.connect(s.endpoint({ tether: '1', tether_cid: 'd1' }));
  t.after(() => c.close());
  await join(c, 'work:a', '1');
  c.send(['1', '2', 'work:a', 'do', {}, { id: 'm-1' }]);
  await c.json();
  c.send(['1', '3', 'work:a', 'do', {}, { id: 'm-1' }]);
  await c.json();
  c.send(['1', '4', 'work:a', 'do', {}]);
  await c.json();
  // A stock client sending the same meta is not de-duplicated, so it reports neither.
  const stock = await RawClient.connect(s.endpoint());
  t.after(() => stock.close());
  await join(stock, 'work:b', '1');
  stock.send(['1', '2', 'work:b', 'do', {}, { id: 'm-1' }]);
  await stock.json();
  assert.deepEqual(seen, ['push work:a', 'push work:a', 'hit work:a']);
  assert.equal(runs, 3);
});

test('handler durations have sub-millisecond resolution', async (t) => {
  const s = await startServer({ channels: { 'room:*': roomChannel } });
  t.after(() => s.server.close());
  const durations: number[] = [];
  s.server.observe({ handled: (i) => durations.push(i.durationMs) });
  const c = await RawClient.connect(s.endpoint());
  t.after(() => c.close());
  await join(c, 'room:hr', '1');
  await c.json();
  for (let i = 0; i < 20; i++) c.send(['1', String(i + 2), 'room:hr', 'shout', { i }]);
  for (let i = 0; i < 20; i++) await c.json();
  assert.equal(durations.length, 21);
  // Whole milliseconds (Date.now) would make every fast handler 0 or 1.
  assert.ok(durations.some((d) => !Number.isInteger(d)), `durations: ${durations.join(', ')}`);
});
