/** Reconnecting: several endpoints, a draining server's hint, and channels rejoining the moment the socket is back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Socket } from '../../src/client/socket.ts';
import type { StateTransition } from '../../src/client/states.ts';
import { drainCloseReason } from '../../src/protocol/extension.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { FakeNetwork } from './fake-transport.ts';

function socketOn(endpoints: string | string[], options: ConstructorParameters<typeof Socket>[1] = {}) {
  const clock = new VirtualClock();
  const net = new FakeNetwork();
  const socket = new Socket(endpoints, { clock, transport: net.factory, page: false, heartbeatIntervalMs: 3_600_000, ...options });
  const transitions: StateTransition[] = [];
  socket.on('state', (t) => transitions.push(t));
  socket.on('error', () => {});
  const host = () => new URL(net.current.url).host;
  return { clock, net, socket, transitions, host };
}

test('several endpoints: the next attempt goes to the next one after a failed attempt or a dropped link', async () => {
  const { clock, net, socket, host } = socketOn(['ws://a.test/socket', 'ws://b.test/socket', 'ws://c.test/socket'], { reconnect: () => 100 });
  assert.deepEqual(socket.endpoints, ['ws://a.test/socket', 'ws://b.test/socket', 'ws://c.test/socket']);
  socket.connect();
  await clock.advanceAsync(0);
  assert.equal(host(), 'a.test');
  net.current.drop({ opened: false });
  await clock.advanceAsync(100);
  assert.equal(host(), 'b.test', 'a failed attempt moves on');
  assert.equal(socket.endpoint, 'ws://b.test/socket');
  net.current.open();
  net.current.drop({ code: 1006 });
  await clock.advanceAsync(100);
  assert.equal(host(), 'c.test', 'a dropped link moves on');
  net.current.drop({ opened: false });
  await clock.advanceAsync(100);
  assert.equal(host(), 'a.test', 'and wraps around');
  assert.equal(net.connections.length, 4);
  assert.throws(() => new Socket([]), /non-empty list/);
});

test('with several endpoints a drain (1012 with a hint) moves to the next node at once; a plain drop at the policy delay', async () => {
  const { clock, net, socket, transitions, host } = socketOn(['ws://a.test/socket', 'ws://b.test/socket'], { reconnect: () => 30 });
  socket.connect();
  await clock.advanceAsync(0);
  net.current.open();
  net.current.drop({ code: 1012, reason: drainCloseReason({ afterMs: 400, windowMs: 5000 }) });
  assert.equal(transitions.at(-1)?.detail.delayMs, 0, 'neither the hint nor the policy: the draining node is left at once');
  assert.match(transitions.at(-1)!.detail.message, /\(the server is draining\) to ws:\/\/b\.test\/socket$/);
  await clock.advanceAsync(0);
  assert.equal(host(), 'b.test');
  net.current.open();
  net.current.drop({ code: 1006 });
  assert.equal(transitions.at(-1)?.detail.delayMs, 30, 'a drop without a drain follows the policy');
  await clock.advanceAsync(30);
  assert.equal(host(), 'a.test');
  net.current.drop({ opened: false });
  assert.equal(transitions.at(-1)?.detail.delayMs, 30, 'and so does a failed attempt after the move');
});

test('one endpoint: a 1012 with a hint waits the rest of the drain plus a random point in the window; without one, the policy', async () => {
  const delays: number[] = [];
  for (let i = 0; i < 40; i++) {
    const { clock, net, transitions, socket } = socketOn('ws://a.test/socket', { reconnect: () => 7 });
    socket.connect();
    await clock.advanceAsync(0);
    net.current.open();
    net.current.drop({ code: 1012, reason: drainCloseReason({ afterMs: 300, windowMs: 2000 }) });
    const t = transitions.at(-1)!;
    assert.match(t.detail.message, /drain hint/);
    delays.push(t.detail.delayMs!);
    // The hint speaks for one return; a failed attempt after it follows the policy again.
    await clock.advanceAsync(t.detail.delayMs!);
    net.current.drop({ opened: false });
    assert.equal(transitions.at(-1)?.detail.delayMs, 7);
  }
  assert.ok(delays.every((d) => d >= 300 && d < 2300), `hinted delays ${delays}`);
  assert.ok(Math.max(...delays) - Math.min(...delays) > 1000, 'spread over the window');
  for (const [code, reason] of [[1012, 'server restart'], [1001, drainCloseReason({ afterMs: 300, windowMs: 2000 })]] as const) {
    const { clock, net, transitions, socket } = socketOn('ws://a.test/socket', { reconnect: () => 7 });
    socket.connect();
    await clock.advanceAsync(0);
    net.current.open();
    net.current.drop({ code, reason });
    assert.equal(transitions.at(-1)?.detail.delayMs, 7, `${code} ${reason}: the policy's delay`);
  }
});

test('a socket that comes back rejoins its channels at once, even with a rejoin timer pending from a phx_error', async () => {
  const { clock, net, socket } = socketOn('ws://a.test/socket', { reconnect: () => 100, channel: { rejoin: () => 10_000 } });
  socket.connect();
  await clock.advanceAsync(0);
  net.current.open();
  const channels = ['room:1', 'room:2', 'room:3'].map((topic) => socket.channel(topic));
  for (const channel of channels) void channel.join();
  await clock.advanceAsync(0);
  for (const f of net.current.frames().filter((x) => x[3] === 'phx_join')) net.current.deliver([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: {} }]);
  assert.deepEqual(channels.map((c) => c.state), ['joined', 'joined', 'joined']);
  const joinRef = channels[0].joinRef;
  net.current.deliver([joinRef, null, 'room:1', 'phx_error', {}]);
  assert.equal(channels[0].state, 'errored');
  net.current.drop({ code: 1006 });
  await clock.advanceAsync(100);
  net.current.open();
  await clock.advanceAsync(0);
  const joins = () => net.current.frames().filter((f) => f[3] === 'phx_join').map((f) => f[2]);
  assert.deepEqual(joins().sort(), ['room:1', 'room:2', 'room:3'], 'every channel rejoined in the tick the socket opened');
  for (const f of net.current.frames().filter((x) => x[3] === 'phx_join')) net.current.deliver([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: {} }]);
  await clock.advanceAsync(30_000);
  assert.equal(joins().length, 3, 'and exactly once: the 10 s rejoin timer was not left behind');
  assert.deepEqual(channels.map((c) => c.state), ['joined', 'joined', 'joined']);
});

test('a drain notice frame: with several endpoints the socket opens the next link first and moves when it is up; with one it waits for the close', async () => {
  const notice = (afterMs: unknown, windowMs: unknown) => [null, null, 'phoenix', 'tether_drain', { afterMs, windowMs }];
  const two = socketOn(['ws://a.test/socket', 'ws://b.test/socket'], { reconnect: () => 7 });
  two.socket.connect();
  await two.clock.advanceAsync(0);
  assert.equal(new URL(two.net.current.url).searchParams.get('tether_move'), '1', 'a socket with another endpoint says so');
  two.net.current.open();
  const first = two.net.current;
  const room = two.socket.channel('room:1');
  void room.join();
  await two.clock.advanceAsync(0);
  first.deliver(first.reply('phx_join'));
  assert.equal(room.state, 'joined');
  for (const bad of [notice(-1, 5), notice('1', 5), [null, null, 'phoenix', 'tether_drain', 'x']]) first.deliver(bad);
  await two.clock.advanceAsync(2000);
  assert.equal(two.net.connections.length, 1, 'a malformed notice is ignored');
  first.deliver(notice(300, 2000));
  assert.equal(two.socket.state, 'open', 'still served by the draining node');
  await two.clock.advanceAsync(2000);
  assert.equal(two.net.connections.length, 2, 'the link to node B opens within the hint\'s window');
  const second = two.net.current;
  assert.equal(new URL(second.url).host, 'b.test');
  assert.equal(first.closedWith, null, 'node A is not left before node B is up');
  assert.equal(room.state, 'joined');
  second.open();
  assert.deepEqual(first.closedWith, { code: 1000, reason: 'moved to another endpoint' });
  assert.equal(two.socket.state, 'open');
  assert.equal(two.socket.endpoint, 'ws://b.test/socket');
  assert.ok(two.transitions.some((t) => t.reason === 'handover' && t.detail.delayMs === 0 && t.detail.code === 1012));
  await two.clock.advanceAsync(0);
  assert.deepEqual(second.frames().filter((f) => f[3] === 'phx_join').map((f) => f[2]), ['room:1'], 'the channel rejoins on node B at once');
  first.drop({ code: 1012, reason: drainCloseReason({ afterMs: 300, windowMs: 2000 }) });
  assert.equal(two.socket.state, 'open', 'the old link closing later changes nothing');
  assert.equal(two.net.connections.length, 2);

  const one = socketOn('ws://a.test/socket', { reconnect: () => 7 });
  one.socket.connect();
  await one.clock.advanceAsync(0);
  one.net.current.open();
  one.net.current.deliver(notice(300, 2000));
  assert.equal(one.socket.state, 'open', 'nowhere else to go: the close is awaited');
  one.net.current.drop({ code: 1012, reason: drainCloseReason({ afterMs: 300, windowMs: 2000 }) });
  const delay = one.transitions.at(-1)!.detail.delayMs!;
  assert.ok(delay >= 300 && delay < 2300, `hinted delay ${delay}`);
});

test('a drain notice with several endpoints: the 1012 before node B is up makes that link the attempt; a link that fails leaves the 1012 to move on', async () => {
  const notice = [null, null, 'phoenix', 'tether_drain', { afterMs: 0, windowMs: 500 }];
  const closing = { code: 1012, reason: drainCloseReason({ afterMs: 0, windowMs: 500 }) };
  /** A socket on node A (of A and B) that has read the drain notice and waited out its window. */
  const noticed = async (options: ConstructorParameters<typeof Socket>[1]) => {
    const on = socketOn(['ws://a.test/socket', 'ws://b.test/socket'], options);
    on.socket.connect();
    await on.clock.advanceAsync(0);
    on.net.current.open();
    const first = on.net.current;
    first.deliver(notice);
    await on.clock.advanceAsync(500);
    return { ...on, a: first };
  };
  const s = await noticed({ reconnect: () => 7 });
  const a = s.a;
  const b = s.net.current;
  assert.equal(new URL(b.url).host, 'b.test');
  a.drop(closing);
  assert.equal(s.socket.state, 'connecting', 'the link already opening is the attempt: no delay, no second attempt');
  assert.equal(s.net.connections.length, 2);
  b.open();
  assert.equal(s.socket.state, 'open');
  assert.equal(s.socket.endpoint, 'ws://b.test/socket');

  const f = await noticed({ reconnect: () => 7, connectTimeoutMs: 1000 });
  const fa = f.a;
  f.net.current.drop({ opened: false });
  assert.equal(f.socket.state, 'open', 'node B refused: stay on node A');
  await f.clock.advanceAsync(500);
  fa.deliver(notice);
  await f.clock.advanceAsync(500);
  const slow = f.net.current;
  await f.clock.advanceAsync(1000);
  assert.ok(slow.closedWith !== null, 'a link that does not open within connectTimeoutMs is given up');
  assert.equal(f.socket.state, 'open');
  fa.drop(closing);
  assert.equal(f.transitions.at(-1)?.detail.delayMs, 0, 'the 1012 moves on at once');
  await f.clock.advanceAsync(0);
  assert.equal(new URL(f.net.current.url).host, 'b.test');
  assert.equal(f.net.connections.length, 4);
});
