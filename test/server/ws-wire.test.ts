/**
 * ws-wire.ts, the one place a pre-encoded frame reaches a ws socket. The raw path leans on three ws internals;
 * the first test below FAILS when an upgrade of `ws` changes them (then re-check ws-wire.ts against the new
 * ws/lib/sender.js and websocket.js and widen the pinned range in package.json). Both paths must put the same
 * frames on the wire, in order with frames ws sends itself.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { sharedFrame } from '../../src/server/transport.ts';
import { frameAll, frameForWire, framesWritable, probeWire, withCorkedSocket, writeFrames, writeShared, type WireMode } from '../../src/server/ws-wire.ts';

/** A ws server with one accepted socket (and the raw socket ws was handed), and a client reading from it. */
async function pair(): Promise<{ server: WebSocket; socket: unknown; client: WebSocket; received: (string | Buffer)[]; close(): void }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  let socket: unknown = null;
  wss.on('connection', (_ws, req) => {
    socket = req.socket;
  });
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const received: (string | Buffer)[] = [];
  client.on('message', (data: Buffer, isBinary: boolean) => received.push(isBinary ? data : data.toString()));
  await new Promise((r) => client.once('open', r));
  const server = await accepted;
  return {
    server,
    socket,
    client,
    received,
    close() {
      client.terminate();
      wss.close();
    },
  };
}

type WriteGeneric = (writev: boolean, data: unknown, encoding: BufferEncoding, cb: (err?: Error | null) => void) => unknown;

/** Counts the socket's write and writev system calls (Node's one entry to both, net.js): chunks per call. */
function countWrites(raw: unknown): number[] {
  const socket = raw as { _writeGeneric: WriteGeneric };
  const calls: number[] = [];
  const writeGeneric = socket._writeGeneric.bind(socket);
  socket._writeGeneric = (writev, data, encoding, cb) => {
    calls.push(writev ? (data as unknown[]).length : 1);
    return writeGeneric(writev, data, encoding, cb);
  };
  return calls;
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the installed ws still has the internals the raw path needs (fails when a ws upgrade changes them)', async (t) => {
  const p = await pair();
  t.after(() => p.close());
  assert.equal(probeWire(p.server, p.socket), 'raw', 'Sender.frame, ws._socket or ws._sender._state changed: see ws-wire.ts');
});

test('without the internals the probe picks the public API', async (t) => {
  const p = await pair();
  t.after(() => p.close());
  assert.equal(probeWire(p.server, {}), 'public', '_socket is not the socket ws was handed');
  const busy = Object.create(p.server, { _sender: { value: { _state: 1 } } }) as WebSocket;
  assert.equal(probeWire(busy, p.socket), 'public', 'a Sender that is not idle');
  const gone = Object.create(p.server, { _sender: { value: undefined } }) as WebSocket;
  assert.equal(probeWire(gone, p.socket), 'public', 'no Sender');
});

for (const mode of ['raw', 'public'] as WireMode[]) {
  test(`${mode}: shared frames of every size class and both opcodes arrive intact, in order with ws.send`, async (t) => {
    const p = await pair();
    t.after(() => p.close());
    const big = 'é'.repeat(40_000);
    const frames = [sharedFrame('a'), sharedFrame('x'.repeat(300)), sharedFrame(big), sharedFrame(new Uint8Array([9, 8, 7]))];
    for (const frame of frames) {
      writeShared(p.server, frame, mode);
      p.server.send('between');
      // The cached bytes are reused for a second recipient (here: the same one again).
      writeShared(p.server, frame, mode);
    }
    await until(() => p.received.length === 12);
    const expected = frames.flatMap((f) => {
      const d = typeof f.data === 'string' ? f.data : Buffer.from(f.data);
      return [d, 'between', d];
    });
    assert.deepEqual(p.received, expected);
  });
}

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

test('frameAll frames each message as ws frames it (every length class, both opcodes, UTF-8 lengths), back to back', () => {
  const items: (string | Uint8Array)[] = ['', 'hi', 'é'.repeat(62), 'é'.repeat(63), 'x'.repeat(125), 'x'.repeat(126), new Uint8Array(65_535).fill(7), 'y'.repeat(65_536), new Uint8Array([1, 2])];
  assert.deepEqual(frameAll(items), Buffer.concat(items.map((item) => frameForWire(item))));
});

test('writeFrames: a batch arrives as its frames, in order with ws.send before and after; not offered once deflate is negotiated', async (t) => {
  const p = await pair();
  t.after(() => p.close());
  assert.equal(framesWritable(p.server, 'raw'), true);
  assert.equal(framesWritable(p.server, 'public'), false);
  const deflating = Object.create(p.server, { _extensions: { value: { 'permessage-deflate': {} } } }) as WebSocket;
  assert.equal(framesWritable(deflating, 'raw'), false, 'ws would compress its own frames: a plain batch could not follow them');
  const busy = Object.create(p.server, { _sender: { value: { _state: 1 } } }) as WebSocket;
  assert.equal(framesWritable(busy, 'raw'), false);
  p.server.send('before');
  writeFrames(p.server, ['one', 'z'.repeat(300), new Uint8Array([5])]);
  p.server.send('after');
  await until(() => p.received.length === 5);
  assert.deepEqual(p.received, ['before', 'one', 'z'.repeat(300), Buffer.from([5]), 'after']);
});

test('a socket\'s frames after its first in one tick leave in one system call, in order; a burst past 64 KiB is not held back', async (t) => {
  const p = await pair();
  t.after(() => p.close());
  const calls = countWrites(p.socket);
  for (let i = 0; i < 10; i++) writeShared(p.server, sharedFrame(`m${i}`), 'raw');
  assert.deepEqual(calls, [1], 'the first frame at once, the rest held until the tick ends');
  await until(() => p.received.length === 10);
  assert.deepEqual(p.received, Array.from({ length: 10 }, (_, i) => `m${i}`));
  assert.deepEqual(calls, [1, 9], 'the nine others in one writev');
  calls.length = 0;
  writeShared(p.server, sharedFrame('alone'), 'raw');
  assert.deepEqual(calls, [1], 'one frame in a tick: written at once, as without batching');
  await until(() => p.received.length === 11);
  calls.length = 0;
  const big = 'x'.repeat(40 * 1024);
  for (let i = 0; i < 4; i++) writeShared(p.server, sharedFrame(big), 'raw');
  assert.ok(calls.length >= 2, 'past 64 KiB the batch went out within the tick');
  await until(() => p.received.length === 15);
});

test('withCorkedSocket: ws.send frames leave in one system call; without a usable _socket they are simply sent', async (t) => {
  const p = await pair();
  t.after(() => p.close());
  const calls = countWrites(p.socket);
  withCorkedSocket(p.server, () => ['a', 'b', 'c'].forEach((m) => p.server.send(m)));
  assert.equal(calls.length, 1, `one system call (got ${calls.join(', ')})`);
  await until(() => p.received.length === 3);
  // A ws whose _socket is gone or renamed (what public mode guards against): no cork, the frames still go.
  const changed = Object.create(p.server, { _socket: { value: undefined } }) as WebSocket;
  withCorkedSocket(changed, () => ['d', 'e'].forEach((m) => p.server.send(m)));
  await until(() => p.received.length === 5);
  assert.deepEqual(p.received, ['a', 'b', 'c', 'd', 'e']);
});
