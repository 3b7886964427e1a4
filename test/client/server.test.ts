/** The client against our real server on loopback: every behaviour end to end. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { globalWebSocketTransport, type SocketOptions } from '../../src/client/index.ts';
import { wsTransport } from '../../src/client/transport-ws.ts';
import { connectTestClient, waitFor } from '../../src/testing/index.ts';
import { startRoomServer } from './live.ts';

type RoomEvents = { echo: { n: number }; shout: { body: string }; fail: object; noreply: object; crash: object; binary: Uint8Array; presence_state: Record<string, unknown> };

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function connected(url: string, options: SocketOptions = {}) {
  const { socket } = await connectTestClient(url, { reconnect: () => 50, ...options });
  cleanups.push(() => socket.disconnect());
  return socket;
}

test('join, echo, error reply, timeout, binary both ways, broadcast, leave', async () => {
  const { server, url } = await startRoomServer();
  cleanups.push(() => server.close());
  const a = await connected(url, { params: { user: 'alice' } });
  const b = await connected(url);
  const room = a.channel<RoomEvents, { echo: { n: number } }>('room:1');
  const presence: unknown[] = [];
  room.on('presence_state', (p) => presence.push(p));
  const join = await room.join();
  assert.deepEqual(join, { status: 'ok', response: { joined: true } });
  assert.equal(room.state, 'joined');
  assert.deepEqual(await room.request('echo', { n: 5 }), { n: 5 });
  await assert.rejects(room.request('fail', {}), (e: Error & { code: string }) => e.code === 'push_error' && /nope/.test(e.message));
  assert.deepEqual(await room.push('noreply', {}, { timeoutMs: 100 }), { status: 'timeout' });
  const bytes = await room.request('binary', new Uint8Array([0, 1, 255]));
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual([...bytes], [0, 1, 255]);
  const other = b.channel<RoomEvents>('room:1');
  await other.join();
  const heard: string[] = [];
  other.on('shout', (p) => heard.push(p.body));
  room.push('shout', { body: 'hello' }, { timeoutMs: 200 });
  await waitFor(() => heard.length === 1, 'broadcast');
  assert.deepEqual(heard, ['hello']);
  assert.ok(presence.length >= 1);
  const left = await room.leave();
  assert.equal(left.status, 'ok');
  assert.equal(room.state, 'closed');
  const stats = a.stats();
  assert.ok(stats.messagesOut >= 7 && stats.messagesIn >= 7 && stats.bytesIn > 0 && stats.bytesOut > 0);
  assert.equal(stats.pendingPushes, 0);
  assert.equal(stats.outboxDepth, 0);
});

test('refused join stops with the reason; a crash errors the channel and it rejoins with a new join_ref', async () => {
  const { server, url } = await startRoomServer();
  cleanups.push(() => server.close());
  const socket = await connected(url);
  const secret = socket.channel('room:private');
  const refused = await secret.join();
  assert.deepEqual(refused, { status: 'error', response: { reason: 'unauthorized' }, serverStatus: 'error' });
  assert.equal(secret.state, 'closed');
  const room = socket.channel<RoomEvents>('room:2', {}, { rejoin: () => 20 });
  await room.join();
  const firstRef = room.joinRef;
  const states: string[] = [];
  room.onLifecycle('state', (s) => states.push(`${s.to}:${s.reason}`));
  room.push('crash', {});
  await waitFor(() => states.includes('joined:joined'), 'rejoin after crash');
  assert.deepEqual(states, ['errored:server_error', 'joining:join', 'joined:joined']);
  assert.notEqual(room.joinRef, firstRef);
  assert.deepEqual(await room.request('echo', { n: 1 }), { n: 1 });
});

test('a push accepted while the server is away is sent after the rejoin, in order', async () => {
  const first = await startRoomServer();
  const port = first.port;
  const socket = await connected(first.url, { reconnect: () => 30 });
  const room = socket.channel<RoomEvents, { echo: { n: number } }>('room:3');
  await room.join();
  await first.server.close();
  await waitFor(() => socket.state !== 'open', 'socket notices the close');
  const results = [1, 2, 3].map((n) => room.request('echo', { n }));
  assert.equal(socket.stats().outboxDepth, 3);
  const second = await startRoomServer({ port });
  cleanups.push(() => second.server.close());
  assert.deepEqual(await Promise.all(results), [{ n: 1 }, { n: 2 }, { n: 3 }]);
  assert.equal(socket.stats().reconnects, 1);
});

test('an expiring token: the server refuses it with 403 and the provider is asked for a fresh one', async () => {
  let issued = 0;
  const valid = new Set<string>();
  const { server, url } = await startRoomServer({
    connect: ({ authToken }) => (authToken !== null && valid.has(authToken) ? { id: 'user-1' } : false),
  });
  cleanups.push(() => server.close());
  const asked: boolean[] = [];
  const provider = (ctx: { refresh: boolean }) => {
    asked.push(ctx.refresh);
    if (ctx.refresh || issued === 0) {
      const token = `t${++issued}`;
      valid.clear();
      valid.add(token);
      return token;
    }
    return `t${issued}`;
  };
  for (const transport of [wsTransport(), globalWebSocketTransport]) {
    asked.length = 0;
    issued = 0;
    const socket = await connected(url, { authToken: provider, transport });
    const room = socket.channel('room:4');
    await room.join();
    // The token expires; the server disconnects the user (1001) and refuses the old token on reconnect.
    valid.clear();
    server.disconnect('user-1');
    await waitFor(() => asked.includes(true), 'a fresh-token request');
    await waitFor(() => socket.state === 'open' && room.state === 'joined', 'reconnected with the fresh token');
    assert.deepEqual(asked.slice(0, 2), [false, false]);
    assert.equal(asked.at(-1), true);
    const reasons = socket.transitions.map((t) => t.reason);
    assert.ok(reasons.includes(transport === globalWebSocketTransport ? 'handshake_failed' : 'auth_rejected'), reasons.join(','));
    await socket.disconnect();
  }
});

test('a second refusal after a fresh token ends in failed with reason auth (ws transport sees the status)', async () => {
  const { server, url } = await startRoomServer({ connect: () => false });
  cleanups.push(() => server.close());
  const { socket } = await connectTestClient(url, { authToken: () => 'never-valid', transport: wsTransport(), awaitOpen: false });
  cleanups.push(() => socket.disconnect());
  await waitFor(() => socket.state === 'failed', 'failed');
  const last = socket.transitions.at(-1)!;
  assert.equal(last.reason, 'auth');
  assert.equal(last.detail.status, 403);
});
