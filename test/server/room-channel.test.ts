/** The demo room:* contract of `tether serve`. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { join, RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

let s: Started;
let c: RawClient;
before(async () => {
  s = await startServer({ channels: { 'room:*': roomChannel } });
  c = await RawClient.connect(s.endpoint());
  assert.deepEqual(await join(c, 'room:demo', '1'), ['1', '1', 'room:demo', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
  assert.deepEqual(await c.json(), ['1', null, 'room:demo', 'presence_state', {}], 'no user param: nothing tracked, state still pushed');
});
after(async () => {
  c.close();
  await s.server.close();
});

test('room:private is refused with unauthorized', async () => {
  assert.deepEqual(await join(c, 'room:private', '2'), ['2', '2', 'room:private', 'phx_reply', { response: { reason: 'unauthorized' }, status: 'error' }]);
});

test('echo, fail, shout, noreply', async () => {
  c.send(['1', '3', 'room:demo', 'echo', { a: [1, 2] }]);
  assert.deepEqual(await c.json(), ['1', '3', 'room:demo', 'phx_reply', { response: { a: [1, 2] }, status: 'ok' }]);
  c.send(['1', '4', 'room:demo', 'fail', {}]);
  assert.deepEqual(await c.json(), ['1', '4', 'room:demo', 'phx_reply', { response: { reason: 'nope' }, status: 'error' }]);
  c.send(['1', '5', 'room:demo', 'shout', { hey: true }]);
  assert.deepEqual(await c.json(), [null, null, 'room:demo', 'shout', { hey: true }]);
  c.send(['1', '6', 'room:demo', 'noreply', {}]);
  assert.ok(await c.silentFor(100));
});

test('binary echoes the bytes as a binary reply', async () => {
  const topic = Buffer.from('room:demo');
  c.send(new Uint8Array(Buffer.concat([Buffer.from([0, 1, 1, topic.length, 6]), Buffer.from('17'), topic, Buffer.from('binary'), Buffer.from([0xde, 0xad])])));
  const reply = (await c.next()) as Buffer;
  assert.equal(reply.toString('hex'), Buffer.concat([Buffer.from([1, 1, 1, topic.length, 2]), Buffer.from('17'), topic, Buffer.from('ok'), Buffer.from([0xde, 0xad])]).toString('hex'));
});

test('crash ends the channel with phx_error and no reply', async () => {
  c.send(['1', '8', 'room:demo', 'crash', {}]);
  assert.deepEqual(await c.json(), ['1', '1', 'room:demo', 'phx_error', { reason: 'channel_crash' }]);
});

test('the recoverable room (tether serve) refuses a binary shout with a reason instead of crashing', async (t) => {
  const { recoverableRoomChannel, ROOM_HISTORY } = await import('../../src/demo/room-channel.ts');
  assert.deepEqual(recoverableRoomChannel.history, ROOM_HISTORY);
  assert.deepEqual(ROOM_HISTORY, { maxMessages: 1000, ttlMs: 300_000 });
  const h = await startServer({ channels: { 'room:*': recoverableRoomChannel } });
  t.after(() => h.server.close());
  const b = await RawClient.connect(h.endpoint());
  await join(b, 'room:bin', '1');
  await b.json(); // presence_state
  // V2 binary push: kind 0, join_ref "1", ref "2", topic "room:bin", event "shout", payload [1,2].
  b.send(Buffer.concat([Buffer.from([0, 1, 1, 8, 5]), Buffer.from('12room:binshout'), Buffer.from([1, 2])]));
  assert.deepEqual(await b.json(), ['1', '2', 'room:bin', 'phx_reply', { response: { reason: 'shout takes a JSON payload in a room with history' }, status: 'error' }]);
  b.close();
});
