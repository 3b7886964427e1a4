import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FakeConnection } from './fake-transport.ts';
import { openSocket } from './setup.ts';

type RoomEvents = { shout: { body: string }; echo: { n: number }; bin: Uint8Array };
type RoomReplies = { echo: { n: number } };

function joinFrame(conn: FakeConnection) {
  return conn.last('phx_join') as [string, string, string, string, object];
}

test('join sends [ref, ref, topic, phx_join, params]; ok moves to joined', async () => {
  const { socket, net } = await openSocket();
  const channel = socket.channel('room:1', { user: 'alice' });
  const states: string[] = [];
  channel.onLifecycle('state', (s) => states.push(`${s.to}:${s.reason}`));
  const join = channel.join();
  const [jr, ref, topic, event, payload] = joinFrame(net.current);
  assert.equal(jr, ref);
  assert.deepEqual([topic, event, payload], ['room:1', 'phx_join', { user: 'alice' }]);
  net.current.reply('phx_join', 'ok', { joined: true });
  assert.deepEqual(await join, { status: 'ok', response: { joined: true } });
  assert.deepEqual(states, ['joining:join', 'joined:joined']);
  assert.equal(channel.joinRef, jr);
});

test('rejoin after a reconnect uses a new join_ref and re-evaluated params; stale join_ref frames are dropped', async () => {
  let n = 0;
  const { socket, net, clock } = await openSocket();
  const channel = socket.channel<RoomEvents>('room:1', () => ({ n: ++n }));
  const got: string[] = [];
  channel.on('shout', (p) => got.push(p.body));
  channel.join();
  await clock.advanceAsync(0);
  const first = joinFrame(net.current);
  net.current.reply('phx_join');
  net.current.drop();
  assert.equal(channel.state, 'errored');
  await clock.advanceAsync(100);
  net.current.open();
  await clock.advanceAsync(0);
  const second = joinFrame(net.current);
  assert.notEqual(second[0], first[0]);
  assert.deepEqual(second[4], { n: 2 });
  net.current.reply('phx_join');
  net.current.deliver([first[0], null, 'room:1', 'shout', { body: 'stale' }]);
  net.current.deliver([second[0], null, 'room:1', 'shout', { body: 'current' }]);
  net.current.deliver([null, null, 'room:1', 'shout', { body: 'broadcast' }]);
  assert.deepEqual(got, ['current', 'broadcast']);
  assert.equal(socket.stats().staleDropped, 1);
});

test('phx_error -> errored and rejoin after the rejoin delay; phx_close -> closed, no rejoin', async () => {
  const { socket, net, clock } = await openSocket({ channel: { rejoin: () => 1000 } });
  const channel = socket.channel('room:1');
  channel.join();
  await clock.advanceAsync(0);
  const [jr] = joinFrame(net.current);
  net.current.reply('phx_join');
  net.current.deliver([jr, jr, 'room:1', 'phx_error', { reason: 'channel_crash' }]);
  assert.equal(channel.state, 'errored');
  await clock.advanceAsync(999);
  assert.equal(net.current.frames().filter((f) => f[3] === 'phx_join').length, 1);
  await clock.advanceAsync(1);
  const [jr2] = joinFrame(net.current);
  assert.notEqual(jr2, jr);
  net.current.reply('phx_join');
  net.current.deliver([jr2, jr2, 'room:1', 'phx_close', {}]);
  assert.equal(channel.state, 'closed');
  assert.equal(channel.isEnded, true);
  await clock.advanceAsync(60_000);
  assert.equal(net.current.frames().filter((f) => f[3] === 'phx_join').length, 2);
  assert.equal(socket.stats().channels, 0);
});

test('a refused join stops and surfaces the reason; retryJoinErrors retries with backoff', async () => {
  const { socket, net, clock, errors } = await openSocket();
  const channel = socket.channel('room:private');
  const join = channel.join();
  const queued = channel.push('shout', { body: 'x' });
  await clock.advanceAsync(0);
  net.current.reply('phx_join', 'error', { reason: 'unauthorized' });
  assert.deepEqual(await join, { status: 'error', response: { reason: 'unauthorized' }, serverStatus: 'error' });
  assert.equal(channel.state, 'closed');
  assert.equal(errors[0].code, 'join_refused');
  assert.match(errors[0].message, /reason "unauthorized"/);
  const r = await queued;
  assert.equal(r.status, 'rejected');
  assert.equal(r.status === 'rejected' && r.error.code, 'channel_closed');
  await clock.advanceAsync(60_000);
  assert.equal(net.current.frames().filter((f) => f[3] === 'phx_join').length, 1, 'not retried');

  const retrying = socket.channel('room:private', {}, { retryJoinErrors: true, rejoin: () => 500 });
  retrying.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join', 'error', { reason: 'unauthorized' });
  assert.equal(retrying.state, 'errored');
  await clock.advanceAsync(500);
  assert.equal(net.current.frames().filter((f) => f[3] === 'phx_join').length, 3);
});

test('join timeout: leave with the old join_ref, errored, rejoin', async () => {
  const { socket, net, clock } = await openSocket({ pushTimeoutMs: 1000, channel: { rejoin: () => 200 } });
  const channel = socket.channel('room:1');
  const join = channel.join();
  await clock.advanceAsync(0);
  const [jr] = joinFrame(net.current);
  await clock.advanceAsync(1000);
  assert.deepEqual(await join, { status: 'timeout' });
  const leave = net.current.last('phx_leave');
  assert.equal(leave[0], jr);
  assert.equal(channel.state, 'errored');
  await clock.advanceAsync(200);
  net.current.reply('phx_join');
  assert.equal(channel.state, 'joined');
});

test('pushes: ok and error replies, request() promise form, typed payloads', async () => {
  const { socket, net, clock } = await openSocket();
  const channel = socket.channel<RoomEvents, RoomReplies>('room:1');
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const req = channel.request('echo', { n: 7 });
  const f = net.current.last('echo');
  assert.equal(f[0], channel.joinRef);
  assert.deepEqual(f[4], { n: 7 });
  assert.equal(typeof (f[5] as { id: string }).id, 'string', 'outbox id travels as meta');
  net.current.reply('echo', 'ok', { n: 7 });
  const reply: { n: number } = await req;
  assert.deepEqual(reply, { n: 7 });
  const failing = channel.request('echo', { n: 1 });
  net.current.reply('echo', 'error', { reason: 'nope' });
  await assert.rejects(failing, (e: Error & { code: string }) => e.code === 'push_error' && /reason "nope"/.test(e.message));
  const seen: string[] = [];
  channel.push('shout', { body: 'hi' }).receive('ok', () => seen.push('ok')).receive('error', () => seen.push('error'));
  net.current.reply('shout', 'ok');
  assert.deepEqual(seen, ['ok']);
  // @ts-expect-error: the payload of shout is { body: string }
  assert.throws(() => channel.push('shout', 'not an object'), /plain object/);
});

test('binary payloads go out as V2 binary frames and binary replies come back as bytes', async () => {
  const { socket, net, clock } = await openSocket();
  const channel = socket.channel<RoomEvents>('room:1');
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const push = channel.push('bin', new Uint8Array([1, 2, 3]).buffer);
  const frame = net.current.sent.at(-1) as Uint8Array;
  assert.ok(frame instanceof Uint8Array);
  assert.equal(frame[0], 0, 'kind push');
  assert.deepEqual([...frame.subarray(-3)], [1, 2, 3]);
  // reply kind 1: join_ref, ref, topic, status, payload
  const enc = new TextEncoder();
  const parts = [channel.joinRef as string, push.ref as string, 'room:1', 'ok'].map((s) => enc.encode(s));
  const reply = new Uint8Array([1, ...parts.map((p) => p.length), ...parts.flatMap((p) => [...p]), 9, 8]);
  net.current.deliver(reply);
  const r = await push;
  assert.equal(r.status, 'ok');
  assert.deepEqual(r.status === 'ok' && [...(r.response as Uint8Array)], [9, 8]);
  const got: number[][] = [];
  channel.on('bin', (p) => got.push([...p]));
  const t = enc.encode('room:1');
  const e = enc.encode('bin');
  net.current.deliver(new Uint8Array([2, t.length, e.length, ...t, ...e, 5]));
  assert.deepEqual(got, [[5]]);
});

test('outbox: pushes while offline flush in order only after the rejoin succeeds', async () => {
  const { socket, net, clock } = await openSocket();
  const channel = socket.channel('room:1');
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  net.current.drop();
  const pushes = [1, 2, 3].map((i) => channel.push('shout', { i }));
  assert.equal(socket.stats().outboxDepth, 3);
  await clock.advanceAsync(100);
  net.current.open();
  await clock.advanceAsync(0);
  assert.deepEqual(net.current.frames().map((f) => f[3]), ['phx_join'], 'nothing before the join reply');
  net.current.reply('phx_join');
  const sent = net.current.frames().filter((f) => f[3] === 'shout');
  assert.deepEqual(sent.map((f) => (f[4] as { i: number }).i), [1, 2, 3]);
  assert.deepEqual(sent.map((f) => (f[5] as { id: string }).id), pushes.map((p) => p.id));
  for (const f of sent) net.current.deliver([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: {} }]);
  assert.equal(socket.stats().outboxDepth, 0);
});

test('outbox: bounded by count and bytes with a clear error, TTL and cancel', async () => {
  const { socket, clock } = await openSocket({ outbox: { maxMessages: 2, maxBytes: 40, ttlMs: 1000 } });
  const channel = socket.channel('room:1');
  const a = channel.push('shout', { a: 1 });
  const b = channel.push('shout', { b: 2 }, { ttlMs: null });
  const c = channel.push('shout', { c: 3 });
  const full = await c;
  assert.equal(full.status, 'rejected');
  assert.equal(full.status === 'rejected' && full.error.code, 'outbox_full');
  assert.match(full.status === 'rejected' ? full.error.message : '', /maxMessages 2/);
  assert.equal(b.cancel(), true);
  assert.deepEqual(await b, { status: 'cancelled' });
  const big = await channel.push('shout', { big: 'x'.repeat(64) });
  assert.equal(big.status === 'rejected' && big.error.code, 'outbox_full');
  await clock.advanceAsync(1000);
  const expired = await a;
  assert.equal(expired.status === 'rejected' && expired.error.code, 'outbox_expired');
  const shortLived = assert.rejects(channel.request('shout', { d: 4 }, { ttlMs: 10 }), (e: Error & { code: string }) => e.code === 'outbox_expired');
  await clock.advanceAsync(10);
  await shortLived;
  assert.equal(socket.stats().outboxDepth, 0);
});

test('10,000 pushes across repeated disconnects: every push settles exactly once and every registry is empty', async () => {
  const { socket, net, clock } = await openSocket({ outbox: { maxMessages: 20_000, maxBytes: 10_000_000 }, pushTimeoutMs: 500 });
  const channel = socket.channel('room:1');
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const settles = new Map<string, number>();
  const outcomes: Record<string, number> = {};
  const pushes = [];
  for (let i = 0; i < 10_000; i++) {
    const push = channel.push('shout', { i });
    push.onSettle((r) => {
      settles.set(push.id, (settles.get(push.id) ?? 0) + 1);
      outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
    });
    pushes.push(push);
    if (i % 1000 === 999) {
      // Answer some, leave some to time out, then cut the link with others in flight.
      const sent = net.current.frames().filter((f) => f[3] === 'shout' && f[1] !== null);
      for (const f of sent.slice(-300, -200)) net.current.deliver([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: {} }]);
      for (const f of sent.slice(-200, -100)) net.current.deliver([f[0], f[1], f[2], 'phx_reply', { status: 'error', response: {} }]);
      if (i % 2000 === 1999) await clock.advanceAsync(500);
      net.current.drop();
      await clock.advanceAsync(100);
      net.current.open();
      await clock.advanceAsync(0);
      net.current.reply('phx_join');
    }
  }
  await clock.advanceAsync(600);
  await socket.disconnect();
  await clock.advanceAsync(400_000);
  assert.equal(settles.size, 10_000);
  assert.ok([...settles.values()].every((n) => n === 1), 'exactly once');
  assert.ok(pushes.every((p) => p.settled));
  assert.ok(outcomes.ok > 0 && outcomes.error > 0 && outcomes.disconnected > 0 && outcomes.timeout > 0, JSON.stringify(outcomes));
  const stats = socket.stats();
  assert.equal(stats.pendingPushes, 0, 'pending refs');
  assert.equal(stats.outboxDepth, 0, 'outbox');
  assert.equal(stats.outboxBytes, 0);
  assert.equal(clock.pendingTimers, 0, 'timers');
});

test("inFlightOnLoss 'resend': messages in flight when the link drops go again after the rejoin, same id, settling once", async () => {
  const { socket, net, clock } = await openSocket({ outbox: { inFlightOnLoss: 'resend' } });
  const channel = socket.channel('room:1');
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const push = channel.push('shout', { n: 1 });
  const later = channel.push('shout', { n: 2 });
  const firstSend = net.current.last('shout');
  net.current.drop();
  assert.equal(push.settled, false);
  assert.equal(socket.stats().pendingPushes, 0, 'the old ref no longer routes');
  await clock.advanceAsync(100);
  net.current.open();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const resent = net.current.frames().filter((f) => f[3] === 'shout');
  assert.deepEqual(resent.map((f) => (f[4] as { n: number }).n), [1, 2], 'in order');
  assert.deepEqual(resent.map((f) => (f[5] as { id: string }).id), [push.id, later.id]);
  assert.notEqual(resent[0][1], firstSend[1], 'a new ref');
  for (const f of resent) net.current.deliver([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: {} }]);
  assert.deepEqual(await push, { status: 'ok', response: {} });
  assert.equal(socket.stats().outboxDepth, 0);
  await socket.disconnect();
  assert.equal(clock.pendingTimers, 0);
});

test('disconnect() then connect(): channels rejoin and what was pushed meanwhile is flushed', async () => {
  const { socket, net, clock } = await openSocket();
  const channel = socket.channel('room:1');
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  await socket.disconnect();
  assert.equal(channel.state, 'errored');
  const later = channel.push('shout', { n: 1 });
  await clock.advanceAsync(60_000);
  assert.equal(net.connections.length, 1, 'nothing reconnects after disconnect()');
  socket.connect();
  await clock.advanceAsync(0);
  net.current.open();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  net.current.reply('shout');
  assert.deepEqual(await later, { status: 'ok', response: {} });
});

test('a queued message that cannot be encoded is rejected without holding up the ones behind it', async () => {
  const { socket, net, clock } = await openSocket();
  const channel = socket.channel('room:1');
  const bad = channel.push('e'.repeat(300), new Uint8Array([1]));
  const good = channel.push('shout', { n: 1 });
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const r = await bad;
  assert.equal(r.status === 'rejected' && r.error.code, 'invalid_payload');
  net.current.reply('shout');
  assert.deepEqual(await good, { status: 'ok', response: {} });
});
