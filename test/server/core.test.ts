/** The core's timers and lifecycle in virtual time: idle sweep, slow consumers, draining, counts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'node:net';
import { CloseCodes } from '../../src/protocol/close-codes.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { join, RawClient, startServer, upgradeStatus } from '../helpers/server-fixtures.ts';

const room: ChannelDefinition = { join: () => ok() };
const tick = () => new Promise((r) => setTimeout(r, 20));

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}`);
}

function rawSocket(c: RawClient): Socket {
  return (c.ws as unknown as { _socket: Socket })._socket;
}

test('idle connections are closed with 4000 by one sweep timer over all connections', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, idleTimeoutMs: 60_000, sweepIntervalMs: 1000 });
  const idled: string[] = [];
  s.server.observe({ idleTimeout: (i) => idled.push(i.connectionId) });
  const quiet = await RawClient.connect(s.endpoint());
  const chatty = await RawClient.connect(s.endpoint());
  await until(() => s.server.connectionCount === 2, 'two connections');
  assert.equal(clock.pendingTimers, 2, 'one sweep timer (and the history sweep of the memory broker), not one per connection');
  clock.advance(30_000);
  chatty.send([null, '1', 'phoenix', 'heartbeat', {}]);
  await chatty.json();
  clock.advance(29_000);
  assert.equal(s.server.connectionCount, 2, 'nobody is idle for 60 s yet');
  clock.advance(1000);
  const closed = await quiet.closed;
  assert.equal(closed.code, CloseCodes.idleTimeout);
  assert.match(closed.reason, /idle timeout/);
  assert.equal(idled.length, 1);
  clock.advance(20_000);
  assert.ok(await chatty.silentFor(50), 'the chatty client is still open');
  clock.advance(10_000);
  assert.equal((await chatty.closed).code, CloseCodes.idleTimeout);
  await s.server.close();
});

test('a consumer that stays over its outbound budget for the grace period is closed with 4001; one that recovers is not', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, channels: { 'room:*': room }, outboundBudgetBytes: 64 * 1024, slowConsumerGraceMs: 5000, idleTimeoutMs: 10 * 60_000,
    // Far above the 30 MB queued here: this is the grace period's test (the hard cap: test/security/outbound-cap.test.ts).
    outboundHardCapBytes: 64 * 1024 * 1024 });
  const slow: number[] = [];
  s.server.observe({ slowConsumer: (i) => slow.push(i.bufferedBytes) });
  const stuck = await RawClient.connect(s.endpoint());
  const recovering = await RawClient.connect(s.endpoint());
  await join(stuck, 'room:flood', '1');
  await join(recovering, 'room:flood', '1');
  rawSocket(stuck).pause();
  rawSocket(recovering).pause();
  const chunk = { data: 'x'.repeat(100_000) };
  for (let i = 0; i < 300; i++) s.server.broadcast('room:flood', 'big', chunk);
  clock.advance(1000);
  rawSocket(recovering).resume();
  for (let i = 0; i < 300; i++) await recovering.next();
  clock.advance(6000);
  assert.equal(slow.length, 1, 'exactly the stuck consumer is reported');
  assert.ok(slow[0] > 64 * 1024);
  rawSocket(stuck).resume();
  const closed = await stuck.closed;
  assert.equal(closed.code, CloseCodes.slowConsumer);
  assert.match(closed.reason, /slow consumer/);
  recovering.send([null, '9', 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(await recovering.json(), [null, '9', 'phoenix', 'phx_reply', { response: {}, status: 'ok' }]);
  recovering.close();
  await s.server.close();
});

test('a slow consumer that never reads is cut closeGraceMs after its 4001, not after the 30 s close timeout of ws', async () => {
  const clock = new VirtualClock();
  const s = await startServer({
    clock, channels: { 'room:*': room }, outboundBudgetBytes: 64 * 1024, slowConsumerGraceMs: 2000, closeGraceMs: 1500, idleTimeoutMs: 10 * 60_000,
    outboundHardCapBytes: 64 * 1024 * 1024,
  });
  const closes: { code: number; reason: string }[] = [];
  s.server.observe({ connectionClosed: ({ code, reason }) => closes.push({ code, reason }) });
  const stuck = await RawClient.connect(s.endpoint());
  await join(stuck, 'room:flood', '1');
  rawSocket(stuck).pause();
  const chunk = { data: 'x'.repeat(100_000) };
  for (let i = 0; i < 300; i++) s.server.broadcast('room:flood', 'big', chunk);
  clock.advance(1000);
  clock.advance(2000);
  assert.equal(s.server.connectionCount, 1, 'closing (4001 sent), waiting for the peer');
  assert.ok(await stuck.silentFor(50));
  clock.advance(1000);
  assert.equal(s.server.connectionCount, 1, 'still within closeGraceMs');
  clock.advance(1000);
  await until(() => s.server.connectionCount === 0, 'the unresponsive consumer to be cut');
  assert.equal(closes.length, 1);
  assert.equal(closes[0].code, CloseCodes.slowConsumer, 'reported with the code the server closed with');
  assert.match(closes[0].reason, /slow consumer/);
  rawSocket(stuck).resume();
  assert.notEqual((await stuck.closed).code, CloseCodes.slowConsumer, 'the peer never got to read the close frame');
  await s.server.close();
});

test('close() drains: refuses new upgrades with 503 and closes connections in batches with 1012', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, drainBatchSize: 2, drainIntervalMs: 1000 });
  const clients = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(s.endpoint())));
  await until(() => s.server.connectionCount === 5, 'five connections');
  let done = false;
  const closing = s.server.close().then(() => (done = true));
  const closedCount = async () => {
    await tick();
    return clients.filter((c) => c.ws.readyState === c.ws.CLOSED).length;
  };
  await until(() => s.server.connectionCount === 3, 'first batch');
  assert.equal(await closedCount(), 2);
  assert.equal(await upgradeStatus(s.endpoint()), 503);
  clock.advance(1000);
  await until(() => s.server.connectionCount === 1, 'second batch');
  assert.equal(done, false);
  clock.advance(1000);
  await closing;
  for (const c of clients) assert.deepEqual(await c.closed, { code: CloseCodes.serviceRestart, reason: 'server restart' });
});

test('connectionCount and topics() follow joins and closes', async () => {
  const s = await startServer({ channels: { 'room:*': room } });
  const a = await RawClient.connect(s.endpoint());
  const b = await RawClient.connect(s.endpoint());
  await join(a, 'room:1', '1');
  await join(b, 'room:1', '1');
  await join(b, 'room:2', '2');
  assert.equal(s.server.connectionCount, 2);
  assert.deepEqual([...s.server.topics()].sort(), [['room:1', 2], ['room:2', 1]]);
  b.close();
  await until(() => s.server.connectionCount === 1, 'b closed');
  assert.deepEqual([...s.server.topics()], [['room:1', 1]]);
  a.close();
  await s.server.close();
});
