/** Diagnostics in real units: durations on the monotonic clock, bytes in UTF-8 both ways. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Socket } from '../../src/client/index.ts';
import { hostileServer } from './hostile-server.ts';
import { openSocket } from './setup.ts';

test('round trips are measured on the monotonic clock: a wall-clock step during a ping is not counted', async () => {
  const { socket, net, clock } = await openSocket();
  const p = socket.ping();
  clock.jump(-3_600_000);
  await clock.advanceAsync(25);
  net.current.reply('heartbeat');
  assert.equal(await p, 25);
  assert.equal(socket.stats().lastRttMs, 25);
});

test('push latency: from the send to the reply, on the monotonic clock', async () => {
  const { socket, net, clock } = await openSocket();
  const room = socket.channel('room:1');
  room.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const push = room.push('echo', {});
  assert.equal(push.latencyMs, null);
  clock.jump(-10_000);
  await clock.advanceAsync(40);
  net.current.reply('echo');
  await push;
  assert.equal(push.latencyMs, 40);
});

test('bytesIn and bytesOut are both UTF-8 bytes', async () => {
  const { socket, net } = await openSocket();
  const text = JSON.stringify([null, null, 'room:1', 'shout', { body: 'héllo wörld €' }]);
  net.current.deliver(text);
  assert.equal(socket.stats().bytesIn, Buffer.byteLength(text));
  assert.notEqual(Buffer.byteLength(text), text.length, 'the sample is not ASCII');
  const room = socket.channel('room:é');
  room.join();
  assert.equal(socket.stats().bytesOut, Buffer.byteLength(net.current.sent.at(-1) as string));
});

test('on loopback a ping reads in fractions of a millisecond, not whole ones', async (t) => {
  const server = await hostileServer({});
  t.after(() => server.close());
  const socket = new Socket(server.url, { page: false });
  t.after(() => socket.disconnect());
  socket.connect();
  await new Promise<void>((resolve) => socket.on('state', (s) => s.to === 'open' && resolve()));
  const rtts: number[] = [];
  for (let i = 0; i < 5; i++) rtts.push(await socket.ping());
  assert.ok(rtts.some((ms) => !Number.isInteger(ms)), `monotonic, sub-millisecond: ${rtts.join(', ')}`);
  assert.ok(rtts.every((ms) => ms >= 0));
  assert.equal(socket.stats().lastRttMs, rtts.at(-1));
});
