/**
 * permessage-deflate: off by default; when on, negotiated with server_no_context_takeover, a broadcast deflated
 * once and the same compressed frame written to every subscriber that negotiated it, in order with the replies
 * ws compresses itself; the inflated size of a client message is capped (1009).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { test } from 'node:test';
import { constants, inflateRawSync } from 'node:zlib';
import { WebSocket, WebSocketServer } from 'ws';
import { Socket } from '../../src/client/index.ts';
import { wsTransport } from '../../src/client/transport-ws.ts';
import { COMPRESSION_DEFAULTS, resolveCompression, wsDeflateOptions } from '../../src/server/compression.ts';
import { createServer, ok, type ChannelDefinition, type TetherServer } from '../../src/server/index.ts';
import { sharedFrame } from '../../src/server/transport.ts';
import { deflatePeer, deflatedForWire, probeWire, sharedWireBytes, writeShared } from '../../src/server/ws-wire.ts';
import { pollUntil } from '../helpers/poll.ts';

const pad = (i: number) => `${'tether broadcast payload '.repeat(80)}#${i}`;

/**
 * `go {n}`: n pushes to the caller and n broadcasts to the topic, interleaved, then the reply (ws is deflating the
 * pushes, so these broadcasts queue behind them uncompressed). `tick {i}`: one broadcast, then a reply over the
 * threshold: on an idle socket the broadcast is the shared pre-compressed frame, the reply compressed by ws.
 */
const mixChannel: ChannelDefinition = {
  join: () => ok(),
  handleIn(event, payload, socket) {
    if (event === 'tick') {
      const i = (payload as { i: number }).i;
      void socket.broadcast('t', { i, pad: pad(i) });
      return ok({ i, pad: pad(i) });
    }
    if (event !== 'go') return;
    const n = (payload as { n: number }).n;
    for (let i = 0; i < n; i++) {
      socket.push('p', { i, pad: pad(i) });
      void socket.broadcast('b', { i, pad: pad(i) });
    }
    return ok({ n });
  },
};

async function started(options: { compression?: boolean; maxFrameBytes?: number } = {}): Promise<{ server: TetherServer; url: string }> {
  const server = createServer({ port: 0, host: '127.0.0.1', channels: { 'mix:*': mixChannel }, ...options });
  const { url } = await server.listen();
  return { server, url: `${url}/websocket?vsn=2.0.0` };
}

/** A raw ws client; `socket` is its TCP socket (bytesRead counts what came over the wire). */
async function rawClient(url: string, perMessageDeflate: boolean): Promise<{ ws: WebSocket; socket: NetSocket; extensions: string | undefined; frames: unknown[][] }> {
  const ws = new WebSocket(url, { perMessageDeflate });
  const upgraded = new Promise<IncomingMessage>((resolve) => ws.once('upgrade', resolve));
  const frames: unknown[][] = [];
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as unknown[]));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  const res = await upgraded;
  return { ws, socket: res.socket as NetSocket, extensions: res.headers['sec-websocket-extensions'] as string | undefined, frames };
}

test('off by default: an offer of permessage-deflate is not accepted', async (t) => {
  const { server, url } = await started();
  t.after(() => server.close());
  const c = await rawClient(url, true);
  assert.equal(c.extensions, undefined);
  c.ws.terminate();
});

test('on: negotiated with server_no_context_takeover; a broadcast goes out compressed to those who offered it, plain to others', async (t) => {
  const { server, url } = await started({ compression: true });
  t.after(() => server.close());
  const clients = await Promise.all([rawClient(url, true), rawClient(url, true), rawClient(url, false)]);
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  assert.match(clients[0].extensions ?? '', /^permessage-deflate;.*server_no_context_takeover/);
  assert.equal(clients[2].extensions, undefined);
  for (const c of clients) c.ws.send(JSON.stringify(['1', '1', 'mix:a', 'phx_join', {}]));
  await pollUntil(() => clients.every((c) => c.frames.length === 1), 'three joins');
  const before = clients.map((c) => c.socket.bytesRead);
  const payload = { text: pad(1) };
  const plain = Buffer.byteLength(JSON.stringify([null, null, 'mix:a', 'big', payload]));
  await server.broadcast('mix:a', 'big', payload);
  await pollUntil(() => clients.every((c) => c.frames.length === 2), 'the broadcast everywhere');
  for (const c of clients) assert.deepEqual(c.frames[1], [null, null, 'mix:a', 'big', payload]);
  const wire = clients.map((c, i) => c.socket.bytesRead - before[i]);
  assert.ok(wire[0] < plain / 4 && wire[1] === wire[0], `compressed: ${wire.join(', ')} bytes for ${plain}`);
  assert.ok(wire[2] > plain, `plain: ${wire[2]}`);
});

test('the compressed framing is made once per frame and counted by the outbound cap at its wire size', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: wsDeflateOptions(COMPRESSION_DEFAULTS) });
  t.after(() => wss.close());
  await new Promise((r) => wss.once('listening', r));
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: true });
  await new Promise((r) => client.once('open', r));
  t.after(() => client.terminate());
  const ws = await accepted;
  const peer = deflatePeer(ws, COMPRESSION_DEFAULTS);
  assert.ok(peer !== null);
  assert.equal(peer.windowBits, 15);
  assert.equal(deflatePeer(ws, false), null, 'compression off: no peer');
  const frame = sharedFrame(pad(7));
  const first = deflatedForWire(frame, peer);
  assert.ok(first !== null);
  assert.equal(deflatedForWire(frame, peer), first, 'the next recipient gets the same Buffer: deflated once');
  assert.equal(first[0], 0xc1, 'FIN + RSV1 + text');
  assert.equal(sharedWireBytes(frame, 'raw', peer), first.length);
  assert.ok(first.length < frame.byteLength / 4);
  // The payload after the 2-byte header (length < 126) inflates on its own, as server_no_context_takeover promises.
  assert.equal(inflateRawSync(Buffer.concat([first.subarray(2), Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString(), pad(7));
  assert.equal(deflatedForWire(sharedFrame('small'), peer), null, 'below the threshold: sent plain');
  assert.equal(sharedWireBytes(sharedFrame(pad(8)), 'public', peer), sharedFrame(pad(8)).byteLength);
});

test('a peer that asked for a smaller server window gets frames deflated with that window', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: wsDeflateOptions(COMPRESSION_DEFAULTS) });
  t.after(() => wss.close());
  await new Promise((r) => wss.once('listening', r));
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: { serverMaxWindowBits: 10 } });
  const received: string[] = [];
  client.on('message', (data: Buffer) => received.push(data.toString()));
  await new Promise((r) => client.once('open', r));
  t.after(() => client.terminate());
  const ws = await accepted;
  const peer = deflatePeer(ws, COMPRESSION_DEFAULTS);
  assert.equal(peer?.windowBits, 10);
  // A block longer than the peer's 1 KiB window, repeated: a 32 KiB window would reach back past what it keeps.
  const text = randomBytes(1500).toString('base64').repeat(5);
  writeShared(ws, sharedFrame(text), 'raw', peer);
  await pollUntil(() => received.length === 1, 'the frame');
  assert.equal(received[0], text);
});

test('raw compressed broadcasts never overtake replies ws is still compressing: order holds across 300 interleaved frames', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: wsDeflateOptions({ ...COMPRESSION_DEFAULTS, thresholdBytes: 0 }) });
  t.after(() => wss.close());
  await new Promise((r) => wss.once('listening', r));
  const accepted = new Promise<[WebSocket, unknown]>((r) => wss.once('connection', (ws, req) => r([ws, req.socket])));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: true });
  t.after(() => client.terminate());
  const received: { i: number; pad: string }[] = [];
  client.on('message', (data: Buffer) => received.push(JSON.parse(data.toString()) as { i: number; pad: string }));
  const [ws, socket] = await accepted;
  assert.equal(probeWire(ws, socket), 'raw');
  const peer = deflatePeer(ws, resolveCompression({ thresholdBytes: 0 }) as typeof COMPRESSION_DEFAULTS)!;
  const sender = (ws as unknown as { _sender: { _state: number } })._sender;
  let busy = 0;
  let idle = 0;
  const total = 300;
  for (let i = 0; i < total; i++) {
    const text = JSON.stringify({ i, pad: pad(i) });
    if (i % 3 === 0) {
      ws.send(text);
    } else {
      if (sender._state === 0) idle++;
      else busy++;
      writeShared(ws, sharedFrame(text), 'raw', peer);
    }
    // Now and then let ws's queued deflates finish, so the idle (raw write) path is taken too.
    if (i % 10 === 9) await pollUntil(() => sender._state === 0, 'an idle Sender');
  }
  await pollUntil(() => received.length === total, `${total} frames`);
  assert.deepEqual(received.map((m) => m.i), Array.from({ length: total }, (_, i) => i));
  for (const m of received) assert.equal(m.pad, pad(m.i));
  assert.ok(busy > 0 && idle > 0, `both paths taken (busy ${busy}, idle ${idle})`);
});

test('the Node client offering permessage-deflate reads interleaved compressed pushes, broadcasts and replies intact', async (t) => {
  const { server, url } = await started({ compression: true });
  t.after(() => server.close());
  // The server side of the upgraded connection: what it wrote is what went over the wire.
  const upgraded: NetSocket[] = [];
  server.httpServer.on('upgrade', (_req: IncomingMessage, s: NetSocket) => upgraded.push(s));
  const socket = new Socket(url.replace('/websocket?vsn=2.0.0', ''), { transport: wsTransport({ perMessageDeflate: true }) });
  t.after(() => socket.disconnect());
  socket.connect();
  const channel = socket.channel('mix:node');
  const pushes: number[] = [];
  const broadcasts: number[] = [];
  const intact = (payload: unknown, into: number[]) => {
    const m = payload as { i: number; pad: string };
    into.push(m.pad === pad(m.i) ? m.i : -1);
  };
  channel.on('p', (payload) => intact(payload, pushes));
  channel.on('b', (payload) => intact(payload, broadcasts));
  assert.equal((await channel.join()).status, 'ok');
  const replies = await Promise.all([channel.push('go', { n: 40 }), channel.push('go', { n: 40 })]);
  for (const r of replies) assert.deepEqual(r, { status: 'ok', response: { n: 40 } });
  await pollUntil(() => broadcasts.length === 80, '80 broadcasts');
  const twice = [...Array.from({ length: 40 }, (_, i) => i), ...Array.from({ length: 40 }, (_, i) => i)];
  assert.deepEqual(pushes, twice);
  assert.deepEqual(broadcasts, twice);

  // One tick at a time: each broadcast (deflated once, written raw) is followed by its reply (deflated by ws).
  const ticks: number[] = [];
  channel.on('t', (payload) => intact(payload, ticks));
  assert.equal(upgraded.length, 1);
  const before = upgraded[0].bytesWritten;
  let plainBroadcasts = 0;
  for (let i = 0; i < 40; i++) {
    const reply = await channel.push('tick', { i });
    assert.deepEqual(reply, { status: 'ok', response: { i, pad: pad(i) } });
    assert.equal(ticks.length, i + 1, `broadcast ${i} arrived before its reply, intact`);
    plainBroadcasts += Buffer.byteLength(JSON.stringify([null, null, 'mix:node', 't', { i, pad: pad(i) }]));
  }
  assert.deepEqual(ticks, Array.from({ length: 40 }, (_, i) => i));
  const wire = upgraded[0].bytesWritten - before;
  // Compressed, a broadcast and a reply are ~100 bytes each; a tenth of the broadcasts sent plain would pass this.
  assert.ok(wire < plainBroadcasts / 10, `${wire} bytes on the wire for 40 broadcasts (${plainBroadcasts} bytes plain) and 40 replies`);
});

test('a zip bomb (a small compressed frame that inflates past maxFrameBytes) closes with 1009', async (t) => {
  const { server, url } = await started({ compression: true, maxFrameBytes: 64 * 1024 });
  t.after(() => server.close());
  const c = await rawClient(url, true);
  const closed = new Promise<number>((resolve) => c.ws.once('close', resolve));
  c.ws.send('a'.repeat(4 * 1024 * 1024));
  assert.equal(await closed, 1009);
  assert.ok(c.socket.bytesWritten < 64 * 1024, `sent ${c.socket.bytesWritten} bytes on the wire`);
});
