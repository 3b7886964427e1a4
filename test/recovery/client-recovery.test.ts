/** Our client against our server: positions remembered, sent on rejoin, replayed exactly once, gaps healed. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import type { JoinRecoveryContext } from '../../src/client/index.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
import { createServer, ok } from '../../src/server/index.ts';
import { connectTestClient, createFaultyLink, createTestServer, waitFor, type FaultyLink, type TestServer } from '../../src/testing/index.ts';

const policy = { maxMessages: 20 };

async function serve(t: TestContext, port = 0, broker = new MemoryBroker()): Promise<{ server: TestServer; port: number; broker: MemoryBroker }> {
  const server = await createTestServer({ port, broker, channels: { 'feed:*': { history: policy, join: () => ok() } } }, t);
  return { server, port: server.port, broker };
}

async function subscriber(t: TestContext, target: TestServer | FaultyLink, topic = 'feed:a') {
  const { socket } = await connectTestClient(target, { reconnect: () => 20, page: false }, t);
  const channel = socket.channel(topic);
  const got: number[] = [];
  const joins: (JoinRecoveryContext & { joinRef: string | null })[] = [];
  channel.on('msg', (p) => got.push((p as JsonObject).n as number));
  channel.onLifecycle('joined', (c) => joins.push(c));
  await channel.join();
  return { socket, channel, got, joins };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('after a dropped link the rejoin replays what was missed, once, in order, before live messages', async (t) => {
  const { server, port } = await serve(t);
  const proxy = await createFaultyLink({ target: port }, t);
  const sub = await subscriber(t, proxy);
  assert.deepEqual(sub.joins, [{ wasRecovering: false, recovered: false, position: sub.joins[0].position, joinRef: sub.joins[0].joinRef }]);
  for (const n of range(1, 5)) server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.got.length === 5, { timeoutMs: 2000, what: 'live messages' });
  proxy.resetAll();
  await waitFor(() => sub.channel.state !== 'joined', { timeoutMs: 2000, what: 'the client to notice' });
  for (const n of range(6, 10)) server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.joins.length === 2, { timeoutMs: 3000, what: 'the rejoin' });
  server.broadcast('feed:a', 'msg', { n: 11 });
  await waitFor(() => sub.got.length >= 11, { timeoutMs: 2000, what: 'replay and live' });
  assert.deepEqual(sub.got, range(1, 11));
  assert.equal(sub.joins[1].wasRecovering, true);
  assert.equal(sub.joins[1].recovered, true);
});

test('too long away for the window, or a restarted in-memory history: recovered:false with the reason', async (t) => {
  const first = await serve(t);
  const sub = await subscriber(t, first.server);
  for (const n of range(1, 2)) first.server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.got.length === 2, { timeoutMs: 2000, what: 'live messages' });
  await first.server.close();
  const second = await serve(t, first.port);
  await waitFor(() => sub.joins.length === 2, { timeoutMs: 5000, what: 'the rejoin after the restart' });
  assert.equal(sub.joins[1].wasRecovering, true);
  assert.equal(sub.joins[1].recovered, false);
  assert.equal(sub.joins[1].reason, 'epoch_changed');
  // Live messages flow again from the new position.
  second.server.broadcast('feed:a', 'msg', { n: 100 });
  await waitFor(() => sub.got.length === 3, { timeoutMs: 2000, what: 'a live message after resync' });
  assert.deepEqual(sub.got, [1, 2, 100]);
  // Now away for longer than the window of 20.
  await sub.socket.disconnect();
  for (const n of range(101, 130)) second.server.broadcast('feed:a', 'msg', { n });
  sub.socket.connect();
  await waitFor(() => sub.joins.length === 3, { timeoutMs: 3000, what: 'the rejoin' });
  assert.deepEqual([sub.joins[2].recovered, sub.joins[2].reason], [false, 'gap_too_large']);
  assert.deepEqual(sub.got, [1, 2, 100], 'never a partial replay');
});

test('a skipped offset on the live stream makes the channel rejoin and the replay fill the gap', async (t) => {
  const { server, broker } = await serve(t);
  const sub = await subscriber(t, server);
  server.broadcast('feed:a', 'msg', { n: 1 });
  await waitFor(() => sub.got.length === 1, { timeoutMs: 2000, what: 'first message' });
  // Stored but never delivered live: the subscriber sees offset 3 after 1.
  broker.history.appendNow('feed:a', 'msg', { n: 2 }, policy);
  server.broadcast('feed:a', 'msg', { n: 3 });
  await waitFor(() => sub.got.length === 3, { timeoutMs: 2000, what: 'the gap to be filled' });
  assert.deepEqual(sub.got, [1, 2, 3]);
  assert.deepEqual([sub.joins.length, sub.joins[1].recovered], [2, true]);
});

test('with the Redis broker a client that rejoins on another node recovers from the shared history', { skip: process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1: Redis is not available' : false }, async (t) => {
  const { RedisBroker } = await import('../../src/broker/redis.ts');
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keyPrefix = `tether-recovery-${Math.random().toString(36).slice(2, 10)}:`;
  const node = async () => {
    const broker = new RedisBroker({ url, keyPrefix });
    const server = createServer({ port: 0, host: '127.0.0.1', broker, channels: { 'feed:*': { history: policy, join: () => ok() } } });
    const info = await server.listen();
    t.after(async () => {
      await server.close();
      await broker.close();
    });
    return { server, port: info.port };
  };
  const a = await node();
  const b = await node();
  const proxy = await createFaultyLink({ target: a.port }, t);
  const sub = await subscriber(t, proxy);
  for (const n of range(1, 3)) b.server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.got.length === 3, { timeoutMs: 3000, what: 'messages published on node B, delivered by node A' });
  proxy.retarget(b.port);
  proxy.resetAll();
  await waitFor(() => sub.channel.state !== 'joined', { timeoutMs: 2000, what: 'the client to notice' });
  for (const n of range(4, 6)) a.server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.joins.length === 2 && sub.got.length === 6, { timeoutMs: 5000, what: 'the rejoin on node B' });
  assert.deepEqual(sub.got, range(1, 6));
  assert.equal(sub.joins[1].recovered, true);
});
