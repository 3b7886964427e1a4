/** The ws adapter's pre-framed fast path produces frames a WebSocket peer parses, at every length class. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { frameForWire } from '../../src/server/ws-adapter.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';

test('frameForWire writes RFC 6455 headers: FIN + opcode, 7-bit, 16-bit and 64-bit lengths, no mask', () => {
  const small = frameForWire('hi');
  assert.deepEqual([...small], [0x81, 2, 0x68, 0x69]);
  const mid = frameForWire(new Uint8Array(300));
  assert.deepEqual([...mid.subarray(0, 4)], [0x82, 126, 0x01, 0x2c]);
  assert.equal(mid.length, 304);
  const big = frameForWire('x'.repeat(70_000));
  assert.deepEqual([...big.subarray(0, 10)], [0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]);
  assert.equal(big.length, 70_010);
  assert.equal(frameForWire('é').subarray(1, 2)[0], 2, 'the length counts UTF-8 bytes');
});

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
});
