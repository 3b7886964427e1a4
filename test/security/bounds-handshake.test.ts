/**
 * Handshakes are bounded: a socket that has not sent its complete upgrade request within handshakeTimeoutMs
 * is destroyed, at most maxPendingHandshakes wait at once, and a refused upgrade is destroyed once its
 * response is written. Raw TCP sockets on loopback; the timeout runs on a virtual clock.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { ok, type ServerOptions } from '../../src/server/index.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

async function start(t: TestContext, options: Partial<ServerOptions>): Promise<Started> {
  const s = await startServer({ channels: { 'room:*': { join: () => ok() } }, ...options });
  t.after(() => s.server.close());
  return s;
}

interface Raw {
  socket: Socket;
  closed: Promise<void>;
  isClosed(): boolean;
  data(): string;
}

/** A TCP client that never closes its side by itself (allowHalfOpen), as a hostile peer would not. */
function raw(t: TestContext, port: number, text: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let closed = false;
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    socket.on('error', () => {});
    // With allowHalfOpen our side stays open: the server's FIN ('end') is what a destroy looks like from here.
    const closedP = new Promise<void>((r) => {
      const done = () => ((closed = true), r());
      socket.once('end', done);
      socket.once('close', done);
    });
    t.after(() => socket.destroy());
    socket.once('connect', () => {
      socket.write(text);
      resolve({ socket, closed: closedP, isClosed: () => closed, data: () => received });
    });
    socket.once('error', reject);
  });
}

const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (pred()) return;
    await settle(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const HALF = (port: number) => `GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`;

test('a half-sent upgrade is destroyed after handshakeTimeoutMs on the server clock, not before', async (t) => {
  const clock = new VirtualClock();
  const s = await start(t, { clock, handshakeTimeoutMs: 10_000 });
  const peer = await raw(t, s.port, HALF(s.port));
  await until(() => s.server.pendingHandshakes === 1, 'the socket to count as pending');
  clock.advance(9_999);
  await settle();
  assert.equal(peer.isClosed(), false);
  clock.advance(1);
  await peer.closed;
  assert.equal(s.server.pendingHandshakes, 0);
});

test('beyond maxPendingHandshakes a new socket is closed at once; the waiting ones are kept until their timeout', async (t) => {
  const clock = new VirtualClock();
  const s = await start(t, { clock, maxPendingHandshakes: 3 });
  const held = [];
  for (let i = 0; i < 3; i++) held.push(await raw(t, s.port, HALF(s.port)));
  await until(() => s.server.pendingHandshakes === 3, 'three pending');
  const extra = await raw(t, s.port, HALF(s.port));
  await extra.closed;
  assert.ok(held.every((p) => !p.isClosed()));
  // A finished upgrade no longer counts: once one pending socket is gone, a real client gets in.
  held[0].socket.destroy();
  await until(() => s.server.pendingHandshakes === 2, 'two pending');
  const c = await RawClient.connect(s.endpoint());
  t.after(() => c.close());
  await until(() => s.server.pendingHandshakes === 2, 'the completed upgrade not counted');
  clock.advance(10_000);
  await Promise.all([held[1].closed, held[2].closed]);
  c.send(['1', '1', 'room:a', 'phx_join', {}]);
  assert.deepEqual(((await c.json()) as unknown[])[4], { response: {}, status: 'ok' }, 'the open connection outlived the handshake timeout');
});

test('a refused upgrade is destroyed once its response is written, even if the peer never closes', async (t) => {
  const s = await start(t, {});
  const peer = await raw(t, s.port, `GET /socket/websocket?vsn=9.9.9 HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await until(() => peer.data().includes('\r\n\r\n'), 'the response');
  assert.match(peer.data(), /^HTTP\/1\.1 403 /);
  const count = () => new Promise<number>((r) => s.server.httpServer.getConnections((_e, n) => r(n)));
  for (let i = 0; i < 100 && (await count()) > 0; i++) await settle(10);
  assert.equal(await count(), 0, 'no descriptor outlives the refusal');
});
