/** The ws adapter: broadcasts through the shared-frame path arrive intact; inbound frames are handled fairly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import type { WebSocket } from 'ws';
import { wireMode } from '../../src/server/ws-wire.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';

test('broadcasts of every size class and both opcodes arrive intact through the shared fast path', async (t) => {
  const room: ChannelDefinition = { join: () => ok() };
  const s = await startServer({ channels: { 'room:*': room } });
  const a = await RawClient.connect(s.endpoint());
  const b = await RawClient.connect(s.endpoint());
  await join(a, 'room:w', '1');
  await join(b, 'room:w', '1');
  t.after(() => s.server.close());
  for (const size of [1, 200, 70_000]) {
    const payload = { s: 'é'.repeat(size) };
    s.server.broadcast('room:w', 'm', payload);
    for (const c of [a, b]) assert.deepEqual(await c.json(), [null, null, 'room:w', 'm', payload]);
  }
  s.server.broadcast('room:w', 'bin', new Uint8Array([9, 8, 7]));
  for (const c of [a, b]) assert.equal(((await c.next()) as Buffer).toString('hex'), '020603726f6f6d3a7762696e090807');
  // The mode was decided on the first real socket and is kept: probing these stand-ins would give 'public'.
  assert.equal(wireMode({} as WebSocket, null), 'raw', 'the server writes shared frames through the raw path');
});

test('a client that sends thousands of pushes back to back gets every reply, in order, through paused reads', async (t) => {
  const echo: ChannelDefinition = { join: () => ok(), handleIn: (_event, payload) => ok(payload) };
  // Small shares and backlog bounds, so the flood is paused and resumed many times over.
  const s = await startServer({ channels: { 'echo:*': echo }, framesPerTurn: 2, readBacklogFrames: 8, readBacklogBytes: 4096, messagesPerSecond: 1_000_000, messageBurst: 1_000_000 });
  t.after(() => s.server.close());
  const flooder = await RawClient.connect(s.endpoint());
  const neighbour = await RawClient.connect(s.endpoint());
  await join(flooder, 'echo:a', '1');
  await join(neighbour, 'echo:b', '1');
  const N = 3000;
  for (let i = 0; i < N; i++) flooder.send(['1', String(i), 'echo:a', 'e', { i }]);
  neighbour.send(['1', 'n', 'echo:b', 'e', { n: 1 }]);
  assert.deepEqual(await neighbour.json(5000), ['1', 'n', 'echo:b', 'phx_reply', { response: { n: 1 }, status: 'ok' }]);
  for (let i = 0; i < N; i++) {
    const reply = (await flooder.json(5000)) as [string, string, string, string, { response: { i: number } }];
    assert.equal(reply[1], String(i));
    assert.equal(reply[4].response.i, i);
  }
  flooder.close();
  neighbour.close();
});
