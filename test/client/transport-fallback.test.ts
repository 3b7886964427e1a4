/**
 * `longPollFallbackMs`: the switch from the primary transport to long-poll when the WebSocket fails before
 * opening, or does not open and answer its first heartbeat in time (virtual clock); the switch sticks once
 * long-poll opened, a long-poll failure sends the next attempt back to the WebSocket, and the choice is
 * remembered in sessionStorage under phoenix.js's key when the WebSocket never passed.
 */
import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { Socket, type SocketOptions } from '../../src/client/index.ts';
import { FALLBACK_MEMO_KEY } from '../../src/client/transport-fallback.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { pollUntil } from '../helpers/poll.ts';
import { FakeNetwork } from './fake-transport.ts';
import { LongPollStub } from './longpoll-stub.ts';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});
afterEach(() => {
  delete (globalThis as { sessionStorage?: unknown }).sessionStorage;
});

async function stub(): Promise<{ stub: LongPollStub; url: string }> {
  const s = new LongPollStub();
  const url = await s.listen();
  cleanup.push(() => s.close());
  return { stub: s, url };
}

function track(socket: Socket) {
  const path: string[] = [];
  socket.on('state', (t) => path.push(`${t.to}:${t.reason}`));
  cleanup.push(() => socket.disconnect());
  return path;
}

/** A socket whose primary transport is a scripted fake and whose fallback is real long-poll to the stub. */
function scripted(url: string, options: SocketOptions = {}) {
  const clock = new VirtualClock();
  const net = new FakeNetwork();
  const socket = new Socket(url, { clock, transport: net.factory, longPollFallbackMs: 2500, page: false, reconnect: () => 1000, heartbeatIntervalMs: 3_600_000, ...options });
  return { clock, net, socket, path: track(socket) };
}

test('a proxy refusing the upgrade (ws sees HTTP 403): falls back at once, not an auth failure, and stays on long-poll', async () => {
  const { stub: s, url } = await stub();
  const socket = new Socket(url, { longPollFallbackMs: 2500, page: false, reconnect: () => 20 });
  const path = track(socket);
  socket.connect();
  await pollUntil(() => socket.isOpen, 'open over long-poll');
  assert.deepEqual(path, ['connecting:connect', 'reconnecting:transport_fallback', 'connecting:retry', 'open:opened']);
  assert.equal(socket.stats().transport, 'longpoll');
  assert.match(socket.transitions.find((t) => t.reason === 'transport_fallback')!.detail.message, /websocket link failed before opening \(HTTP 403\); switching to long-poll/);
  const room = socket.channel('room:1');
  assert.equal((await room.join()).status, 'ok');
  // The server loses every session (a restart): the socket reconnects over long-poll, not the WebSocket again.
  const getsBefore = s.get().length;
  s.expireSessions();
  await pollUntil(() => path.filter((p) => p === 'open:opened').length === 2 && room.state === 'joined', 'reopened and rejoined');
  assert.equal(path.filter((p) => p === 'reconnecting:transport_fallback').length, 1, 'one switch, then long-poll for good');
  assert.ok(s.get().length > getsBefore);
  assert.deepEqual(await room.request('echo', { after: 'restart' }), { after: 'restart' });
});

test('the WebSocket opens but its first heartbeat is not answered within the threshold: long-poll, channels rejoin there', async () => {
  const { url } = await stub();
  const { clock, net, socket, path } = scripted(url);
  socket.connect();
  await clock.advanceAsync(0);
  net.current.open();
  const ws = net.current;
  assert.equal(ws.last('heartbeat')[2], 'phoenix', 'a heartbeat goes out at once');
  const room = socket.channel('room:1');
  void room.join();
  await clock.advanceAsync(2499);
  assert.equal(socket.state, 'open');
  await clock.advanceAsync(1);
  assert.deepEqual(ws.closedWith, { code: 1000, reason: 'falling back to long-poll' });
  await pollUntil(() => socket.isOpen && room.state === 'joined', 'open and joined over long-poll');
  assert.deepEqual(path, ['connecting:connect', 'open:opened', 'reconnecting:transport_fallback', 'connecting:retry', 'open:opened']);
  assert.equal(socket.stats().transport, 'longpoll');
});

test('a WebSocket that answers its first heartbeat in time stays; so does one that opens within the threshold', async () => {
  const { url } = await stub();
  const { clock, net, socket, path } = scripted(url);
  socket.connect();
  await clock.advanceAsync(2000);
  net.current.open();
  await clock.advanceAsync(2000);
  net.current.reply('heartbeat');
  await clock.advanceAsync(0);
  await clock.advanceAsync(60_000);
  assert.deepEqual(path, ['connecting:connect', 'open:opened']);
  assert.equal(socket.stats().transport, 'custom');
  assert.equal(clock.pendingTimers, 1, 'only the heartbeat timer is left');
});

test('no open within the threshold falls back; a long-poll attempt that fails too sends the next attempt back to the WebSocket', async () => {
  const { stub: s, url } = await stub();
  s.raw = { status: 502, body: 'down' };
  const { clock, net, socket, path } = scripted(url);
  socket.connect();
  await clock.advanceAsync(2500);
  assert.equal(net.connections[0]!.closedWith?.reason, 'falling back to long-poll');
  await pollUntil(() => socket.state === 'reconnecting' && path.length === 4, 'the long-poll attempt to fail');
  assert.deepEqual(path, ['connecting:connect', 'reconnecting:transport_fallback', 'connecting:retry', 'reconnecting:handshake_failed']);
  await clock.advanceAsync(1000);
  assert.equal(net.connections.length, 2, 'the WebSocket is tried again after the retry delay');
  s.raw = null;
  net.current.drop();
  await pollUntil(() => socket.isOpen, 'open over long-poll');
  assert.equal(socket.stats().transport, 'longpoll');
});

test('in a browser tab the fallback is remembered in sessionStorage, and the next socket starts on long-poll', async () => {
  const store = new Map<string, string>();
  (globalThis as { sessionStorage?: unknown }).sessionStorage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
  const { url } = await stub();
  const first = scripted(url);
  first.socket.connect();
  await first.clock.advanceAsync(0);
  first.net.current.drop();
  await pollUntil(() => first.socket.isOpen, 'the first socket open over long-poll');
  assert.equal(store.get(FALLBACK_MEMO_KEY), 'true');
  const second = scripted(url);
  second.socket.connect();
  await pollUntil(() => second.socket.isOpen, 'the second socket open');
  assert.equal(second.net.connections.length, 0, 'no WebSocket attempt');
  assert.deepEqual(second.path, ['connecting:connect', 'open:opened']);
});

test('a WebSocket that passed its check is not remembered against, even if a later attempt falls back', async () => {
  const store = new Map<string, string>();
  (globalThis as { sessionStorage?: unknown }).sessionStorage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
  const { url } = await stub();
  const { clock, net, socket } = scripted(url);
  socket.connect();
  await clock.advanceAsync(0);
  net.current.open();
  net.current.reply('heartbeat');
  await clock.advanceAsync(0);
  net.current.drop();
  await clock.advanceAsync(1000);
  net.current.drop();
  await pollUntil(() => socket.isOpen && socket.stats().transport === 'longpoll', 'open over long-poll');
  assert.equal(store.get(FALLBACK_MEMO_KEY), undefined);
});
