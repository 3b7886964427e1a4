/**
 * Tether's client in long-poll mode against Tether's long-poll endpoint: join, push and reply, binary, broadcast
 * from a WebSocket peer, presence; then a server restart on a history topic, with a push made while the server
 * was down sent from the outbox after the rejoin and the missed message replayed (`recovered: true`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { Presence, type JoinRecoveryContext } from '../../src/client/index.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
import { ok } from '../../src/server/index.ts';
import { connectTestClient, createTestServer, waitFor, type TestClientOptions } from '../../src/testing/index.ts';

const longPoll: TestClientOptions = { transport: 'longpoll', reconnect: () => 20, page: false };

test('over long-poll: join, push/reply, binary, a broadcast from a WebSocket peer, and presence', async (t) => {
  const server = await createTestServer({ port: 0, channels: { 'room:*': roomChannel } }, t);
  const lp = await connectTestClient(server, { ...longPoll, params: { user: 'lp' } }, t);
  const ws = await connectTestClient(server, { params: { user: 'ws' }, page: false }, t);
  const room = lp.socket.channel('room:mixed');
  const presence = new Presence(room);
  const shouts: unknown[] = [];
  room.on('shout', (p) => shouts.push(p));
  assert.deepEqual(await room.join(), { status: 'ok', response: { joined: true } });
  assert.deepEqual(await room.request('echo', { hi: 'über' }), { hi: 'über' });
  assert.deepEqual([...((await room.request('binary', new Uint8Array([0, 1, 254, 255]))) as Uint8Array)], [0, 1, 254, 255]);
  const peer = ws.socket.channel('room:mixed');
  await peer.join();
  peer.push('shout', { from: 'ws' });
  await waitFor(() => shouts.length === 1 && presence.list().length === 2, { timeoutMs: 5000, what: 'the shout and both users present' });
  assert.deepEqual(shouts, [{ from: 'ws' }]);
  assert.deepEqual(presence.list((key) => key).sort(), ['lp', 'ws']);
  assert.ok((await lp.socket.ping()) >= 0, 'heartbeats are answered over long-poll too');
  const stats = lp.socket.stats();
  assert.equal(stats.transport, 'longpoll');
  assert.equal(ws.socket.stats().transport, 'websocket');
  assert.ok(stats.bytesIn > 0 && stats.messagesOut >= 4, "join, echo, binary and the ping were counted");
});

test('over long-poll, a server restart: the outbox push goes after the rejoin and the gap replays with recovered: true', async (t) => {
  const broker = new MemoryBroker();
  const policy = { maxMessages: 50 };
  const channels = {
    'feed:*': {
      history: policy,
      join: () => ok(),
      handleIn: (event: string, payload: unknown, socket: { broadcast(event: string, payload: JsonObject): void }) => {
        socket.broadcast('msg', payload as JsonObject);
        return ok({ stored: event });
      },
    },
  };
  const first = await createTestServer({ port: 0, broker, channels }, t);
  const port = first.port;
  const client = await connectTestClient(first, longPoll, t);
  const feed = client.socket.channel('feed:a');
  const got: unknown[] = [];
  const joins: JoinRecoveryContext[] = [];
  feed.on('msg', (p) => got.push((p as JsonObject).n));
  feed.onLifecycle('joined', (c) => joins.push(c));
  await feed.join();
  for (const n of [1, 2]) first.broadcast('feed:a', 'msg', { n });
  await waitFor(() => got.length === 2, { timeoutMs: 5000, what: 'live messages' });
  await first.close();
  await waitFor(() => feed.state !== 'joined', { timeoutMs: 5000, what: 'the client to notice the restart' });
  // Missed while down: stored in the (surviving) history, never delivered live; and a push made offline.
  broker.history.appendNow('feed:a', 'msg', { n: 3 }, policy);
  const offline = feed.request('post', { n: 4 });
  const second = await createTestServer({ port, broker, channels }, t);
  assert.deepEqual(await offline, { stored: 'post' });
  await waitFor(() => got.length === 4, { timeoutMs: 5000, what: 'the replay and the outbox push\'s broadcast' });
  assert.deepEqual(got, [1, 2, 3, 4]);
  assert.equal(joins.length, 2);
  assert.equal(joins[1]!.recovered, true);
  assert.equal(client.socket.stats().transport, 'longpoll');
  assert.ok(client.socket.transitions.every((tr) => tr.reason !== 'transport_fallback'));
  assert.equal(second.port, port);
});
