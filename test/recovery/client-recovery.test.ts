/** Our client against our server: positions remembered, sent on rejoin, replayed exactly once, gaps healed. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { Socket, type JoinRecoveryContext } from '../../src/client/index.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
import { createServer, ok, type TetherServer } from '../../src/server/index.ts';
import { BlackholeProxy } from '../faults/harness/blackhole-proxy.ts';
import { waitFor } from '../faults/harness/processes.ts';

const policy = { maxMessages: 20 };

async function serve(t: TestContext, port = 0, broker = new MemoryBroker()): Promise<{ server: TetherServer; port: number; broker: MemoryBroker }> {
  const server = createServer({ port, host: '127.0.0.1', broker, channels: { 'feed:*': { history: policy, join: () => ok() } } });
  const info = await server.listen();
  t.after(() => server.close());
  return { server, port: info.port, broker };
}

async function subscriber(t: TestContext, port: number, topic = 'feed:a') {
  const socket = new Socket(`ws://127.0.0.1:${port}/socket`, { reconnect: () => 20, page: false });
  t.after(() => socket.disconnect());
  const channel = socket.channel(topic);
  const got: number[] = [];
  const joins: (JoinRecoveryContext & { joinRef: string | null })[] = [];
  channel.on('msg', (p) => got.push((p as JsonObject).n as number));
  channel.onLifecycle('joined', (c) => joins.push(c));
  socket.connect();
  await channel.join();
  return { socket, channel, got, joins };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('after a dropped link the rejoin replays what was missed, once, in order, before live messages', async (t) => {
  const { server, port } = await serve(t);
  const proxy = new BlackholeProxy(port);
  await proxy.listen();
  t.after(() => proxy.close());
  const sub = await subscriber(t, proxy.port);
  assert.deepEqual(sub.joins, [{ wasRecovering: false, recovered: false, position: sub.joins[0].position, joinRef: sub.joins[0].joinRef }]);
  for (const n of range(1, 5)) server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.got.length === 5, 2000, 'live messages');
  proxy.reset();
  await waitFor(() => sub.channel.state !== 'joined', 2000, 'the client to notice');
  for (const n of range(6, 10)) server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.joins.length === 2, 3000, 'the rejoin');
  server.broadcast('feed:a', 'msg', { n: 11 });
  await waitFor(() => sub.got.length >= 11, 2000, 'replay and live');
  assert.deepEqual(sub.got, range(1, 11));
  assert.equal(sub.joins[1].wasRecovering, true);
  assert.equal(sub.joins[1].recovered, true);
});

test('too long away for the window, or a restarted in-memory history: recovered:false with the reason', async (t) => {
  const first = await serve(t);
  const sub = await subscriber(t, first.port);
  for (const n of range(1, 2)) first.server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.got.length === 2, 2000, 'live messages');
  await first.server.close();
  const second = await serve(t, first.port);
  await waitFor(() => sub.joins.length === 2, 5000, 'the rejoin after the restart');
  assert.equal(sub.joins[1].wasRecovering, true);
  assert.equal(sub.joins[1].recovered, false);
  assert.equal(sub.joins[1].reason, 'epoch_changed');
  // Live messages flow again from the new position.
  second.server.broadcast('feed:a', 'msg', { n: 100 });
  await waitFor(() => sub.got.length === 3, 2000, 'a live message after resync');
  assert.deepEqual(sub.got, [1, 2, 100]);
  // Now away for longer than the window of 20.
  await sub.socket.disconnect();
  for (const n of range(101, 130)) second.server.broadcast('feed:a', 'msg', { n });
  sub.socket.connect();
  await waitFor(() => sub.joins.length === 3, 3000, 'the rejoin');
  assert.deepEqual([sub.joins[2].recovered, sub.joins[2].reason], [false, 'gap_too_large']);
  assert.deepEqual(sub.got, [1, 2, 100], 'never a partial replay');
});

test('a skipped offset on the live stream makes the channel rejoin and the replay fill the gap', async (t) => {
  const { server, port, broker } = await serve(t);
  const sub = await subscriber(t, port);
  server.broadcast('feed:a', 'msg', { n: 1 });
  await waitFor(() => sub.got.length === 1, 2000, 'first message');
  // Stored but never delivered live: the subscriber sees offset 3 after 1.
  broker.history.appendNow('feed:a', 'msg', { n: 2 }, policy);
  server.broadcast('feed:a', 'msg', { n: 3 });
  await waitFor(() => sub.got.length === 3, 2000, 'the gap to be filled');
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
  const proxy = new BlackholeProxy(a.port);
  await proxy.listen();
  t.after(() => proxy.close());
  const sub = await subscriber(t, proxy.port);
  for (const n of range(1, 3)) b.server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.got.length === 3, 3000, 'messages published on node B, delivered by node A');
  proxy.retarget(b.port);
  proxy.reset();
  await waitFor(() => sub.channel.state !== 'joined', 2000, 'the client to notice');
  for (const n of range(4, 6)) a.server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => sub.joins.length === 2 && sub.got.length === 6, 5000, 'the rejoin on node B');
  assert.deepEqual(sub.got, range(1, 6));
  assert.equal(sub.joins[1].recovered, true);
});
