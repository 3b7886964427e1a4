/** The stock `phoenix` client through a drain and restart: it sees the plain 1012 and rejoins, untouched by the hint. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Socket } from 'phoenix';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { startServer } from '../helpers/server-fixtures.ts';

test('a stock phoenix client gets "server restart" with 1012 from a drain, then reconnects and rejoins the restarted server', async () => {
  const first = await startServer({ channels: { 'room:*': roomChannel }, drainReconnectWindowMs: 4000 });
  const socket = new Socket(first.url, { reconnectAfterMs: () => 50, rejoinAfterMs: () => 50, timeout: 1000 });
  const closes: { code: number; reason: string }[] = [];
  socket.onClose((e) => {
    closes.push({ code: e.code, reason: e.reason });
  });
  socket.connect();
  const channel = socket.channel('room:drain');
  await new Promise((resolve) => channel.join().receive('ok', resolve));
  // phoenix.js hands every message to onMessage first: the ok reply of the rejoin's own join push.
  const rejoined = new Promise<void>((resolve) => {
    channel.onMessage = (event, payload, ref) => {
      if (event === 'phx_reply' && ref === (channel as unknown as { joinPush: { ref: string } }).joinPush.ref && (payload as { status?: string }).status === 'ok') resolve();
      return payload;
    };
  });
  await first.server.close();
  assert.deepEqual(closes, [{ code: 1012, reason: 'server restart' }], 'the stock client never sees the hint');
  const second = await startServer({ channels: { 'room:*': roomChannel }, port: first.port });
  await rejoined;
  assert.equal(channel.state, 'joined');
  socket.disconnect();
  await second.server.close();
});
