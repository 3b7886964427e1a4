/** The channel's join state on a virtual clock: every server-initiated end of a join attempt takes one path. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FakeConnection } from './fake-transport.ts';
import { openSocket } from './setup.ts';

const joins = (conn: FakeConnection) => conn.frames().filter((f) => f[3] === 'phx_join');

test('a phx_error while the join is in flight rejoins after the rejoin delay, not the join timeout', async () => {
  const { socket, net, clock, errors } = await openSocket({ pushTimeoutMs: 10_000, channel: { rejoin: () => 1000 } });
  const baseline = clock.pendingTimers;
  const channel = socket.channel('room:1');
  const states: string[] = [];
  channel.onLifecycle('state', (s) => states.push(`${s.to}:${s.reason}`));
  const join = channel.join();
  await clock.advanceAsync(0);
  const [jr] = joins(net.current)[0];
  net.current.deliver([jr, jr, 'room:1', 'phx_error', { reason: 'boom' }]);
  assert.equal(channel.state, 'errored');
  assert.equal(channel.joinRef, null);
  await clock.advanceAsync(999);
  assert.equal(joins(net.current).length, 1);
  await clock.advanceAsync(1);
  assert.equal(joins(net.current).length, 2, 'rejoined after the 1 s rejoin delay');
  const [jr2] = joins(net.current)[1];
  assert.notEqual(jr2, jr);
  net.current.deliver([jr, jr, 'room:1', 'phx_reply', { status: 'ok', response: { late: true } }]);
  assert.equal(channel.state, 'joining', 'a late reply to the ended attempt does not join');
  net.current.reply('phx_join', 'ok', { second: true });
  assert.deepEqual(await join, { status: 'ok', response: { second: true } });
  assert.deepEqual(states, ['joining:join', 'errored:server_error', 'joining:join', 'joined:joined']);
  await clock.advanceAsync(30_000);
  assert.deepEqual(errors.map((e) => e.code), [], 'no push_timeout');
  assert.equal(socket.stats().pendingPushes, 0);
  assert.equal(clock.pendingTimers, baseline, 'no timer left behind');
});

test('a phx_close while the join is in flight ends the channel at once: join() settles disconnected, nothing left armed', async () => {
  const { socket, net, clock, errors } = await openSocket({ pushTimeoutMs: 10_000 });
  const baseline = clock.pendingTimers;
  const channel = socket.channel('room:1');
  const join = channel.join();
  const queued = channel.push('shout', { body: 'x' });
  await clock.advanceAsync(0);
  const [jr] = joins(net.current)[0];
  net.current.deliver([jr, jr, 'room:1', 'phx_close', {}]);
  assert.deepEqual(await join, { status: 'disconnected' });
  assert.equal(channel.state, 'closed');
  assert.equal((await queued).status, 'rejected');
  await clock.advanceAsync(60_000);
  assert.equal(channel.state, 'closed');
  assert.equal(joins(net.current).length, 1);
  assert.deepEqual(errors.map((e) => e.code), []);
  assert.equal(socket.stats().pendingPushes, 0);
  assert.equal(socket.stats().outboxDepth, 0);
  assert.equal(clock.pendingTimers, baseline);
});

test('a rejoin policy that gives up settles a join() still waiting for its first outcome', async () => {
  let calls = 0;
  const { socket, net, clock, errors } = await openSocket({ channel: { rejoin: () => (++calls > 1 ? null : 500) } });
  const channel = socket.channel('room:1');
  const join = channel.join();
  await clock.advanceAsync(0);
  const [jr] = joins(net.current)[0];
  net.current.deliver([jr, jr, 'room:1', 'phx_error', {}]);
  await clock.advanceAsync(500);
  const [jr2] = joins(net.current)[1];
  net.current.deliver([jr2, jr2, 'room:1', 'phx_error', {}]);
  assert.deepEqual(await join, { status: 'disconnected' });
  assert.equal(channel.state, 'closed');
  assert.deepEqual(errors.map((e) => e.code), ['retries_exhausted']);
});
