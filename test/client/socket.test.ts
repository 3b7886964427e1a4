import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authTokenProtocol } from '../../src/client/endpoint.ts';
import { fakeSocket, openSocket } from './setup.ts';

test('states: idle -> connecting -> open, with reasons and a kept history', async () => {
  const { socket, net, clock, path } = fakeSocket({ params: { token: 'abc', nested: { a: 1 } } });
  assert.equal(socket.state, 'idle');
  socket.connect();
  await clock.advanceAsync(0);
  assert.equal(socket.state, 'connecting');
  const url = new URL(net.current.url);
  assert.equal(url.origin + url.pathname, 'ws://example.test/socket/websocket');
  assert.match(url.search, /^\?token=abc&nested%5Ba%5D=1&.*vsn=2\.0\.0$/, 'params first (nested as a[b]), vsn last');
  assert.deepEqual(net.current.protocols, []);
  net.current.open();
  assert.deepEqual(path(), ['connecting:connect', 'open:opened']);
  assert.equal(socket.transitions.length, 2);
  assert.equal(socket.transitions[1].from, 'connecting');
  assert.equal(typeof socket.transitions[1].at, 'number');
  assert.equal(socket.stats().connectedSince, clock.now());
});

test('a lost link reconnects after the policy delay; providers run before every attempt', async () => {
  const calls: string[] = [];
  let n = 0;
  const { socket, net, clock, path, transitions } = fakeSocket({
    params: async () => {
      calls.push('params');
      return { n: ++n };
    },
    authToken: async (ctx) => {
      calls.push(`token:${ctx.attempt}:${ctx.refresh}`);
      return 'tok-' + n;
    },
    reconnect: ({ attempt }) => attempt * 1000,
  });
  socket.connect();
  await clock.advanceAsync(0);
  assert.deepEqual(net.current.protocols, ['phoenix', authTokenProtocol('tok-1')]);
  net.current.open();
  net.current.drop({ code: 1012, reason: 'restart' });
  assert.deepEqual(path().slice(-1), ['reconnecting:transport_closed']);
  assert.equal(transitions.at(-1)?.detail.code, 1012);
  assert.equal(transitions.at(-1)?.detail.delayMs, 1000);
  await clock.advanceAsync(999);
  assert.equal(net.connections.length, 1);
  await clock.advanceAsync(1);
  assert.equal(net.connections.length, 2);
  assert.equal(new URL(net.current.url).searchParams.get('n'), '2');
  net.current.drop({ opened: false });
  assert.deepEqual(path().slice(-1), ['reconnecting:handshake_failed']);
  assert.equal(transitions.at(-1)?.detail.delayMs, 2000, 'second attempt of the same outage');
  await clock.advanceAsync(2000);
  net.current.open();
  assert.equal(socket.stats().reconnects, 1);
  assert.deepEqual(calls, ['params', 'token:1:false', 'params', 'token:1:false', 'params', 'token:2:true'], 'a failure before open with no visible status asks for a fresh token');
});

test('HTTP 401/403 asks the token provider once for a fresh token; a second refusal fails with reason auth', async () => {
  const ctxs: string[] = [];
  const { socket, net, clock, path, errors } = fakeSocket({ authToken: (ctx) => (ctxs.push(String(ctx.refresh)), ctx.refresh ? 'fresh' : 'stale') });
  socket.connect();
  await clock.advanceAsync(0);
  net.current.drop({ opened: false, status: 403 });
  await clock.advanceAsync(0);
  assert.equal(net.connections.length, 2, 'retried at once, no backoff');
  assert.deepEqual(net.current.protocols, ['phoenix', authTokenProtocol('fresh')]);
  net.current.drop({ opened: false, status: 401 });
  await clock.advanceAsync(60_000);
  assert.equal(socket.state, 'failed');
  assert.deepEqual(path().slice(-1), ['failed:auth']);
  assert.equal(net.connections.length, 2, 'no blind retries');
  assert.deepEqual(ctxs, ['false', 'true']);
  assert.deepEqual(errors.map((e) => e.code), ['auth_rejected', 'auth_failed']);
  for (const e of errors) assert.match(e.message, /HTTP 40[13].*\./);
});

test('a fresh token that works resets the auth budget', async () => {
  const { socket, net, clock } = fakeSocket({ authToken: (ctx) => (ctx.refresh ? 'fresh' : 'stale') });
  socket.connect();
  await clock.advanceAsync(0);
  net.current.drop({ opened: false, status: 403 });
  await clock.advanceAsync(0);
  net.current.open();
  net.current.drop();
  await clock.advanceAsync(100);
  net.current.drop({ opened: false, status: 403 });
  await clock.advanceAsync(0);
  assert.equal(socket.state, 'connecting', 'one more fresh-token attempt after a success');
});

test('the retry policy returning null ends in failed with reason retries_exhausted', async () => {
  const { socket, net, clock, path, errors } = fakeSocket({ reconnect: ({ attempt }) => (attempt < 3 ? 10 : null) });
  socket.connect();
  for (let i = 0; i < 3; i++) {
    await clock.advanceAsync(10);
    net.current.drop({ opened: false });
  }
  assert.equal(socket.state, 'failed');
  assert.deepEqual(path().slice(-1), ['failed:retries_exhausted']);
  assert.equal(errors.at(-1)?.code, 'retries_exhausted');
  assert.equal(clock.pendingTimers, 0);
});

test('connect timeout closes the attempt and retries', async () => {
  const { socket, net, clock, path } = fakeSocket({ connectTimeoutMs: 5000 });
  socket.connect();
  await clock.advanceAsync(5000);
  assert.deepEqual(path(), ['connecting:connect', 'reconnecting:connect_timeout']);
  assert.deepEqual(net.connections[0].closedWith, { code: 1000, reason: 'connect timeout' });
  net.connections[0].open();
  assert.equal(socket.state, 'reconnecting', 'a stale transport cannot open the socket');
  await clock.advanceAsync(100);
  assert.equal(net.connections.length, 2);
});

test('disconnect() is final: no timer, late close or page signal reconnects it', async () => {
  const env = fakePage();
  const { socket, net, clock, path } = await openSocket({ page: env });
  net.current.drop();
  assert.equal(socket.state, 'reconnecting');
  const closed = socket.disconnect();
  await closed;
  assert.equal(socket.state, 'closed');
  assert.deepEqual(path().slice(-2), ['closing:disconnect', 'closed:closed']);
  env.fire('online');
  env.fire('pageshow');
  await clock.advanceAsync(120_000);
  assert.equal(net.connections.length, 1);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(env.listeners.size, 0, 'page listeners removed');
  socket.connect();
  await clock.advanceAsync(0);
  assert.equal(net.connections.length, 2, 'connect() starts again');
});

test('disconnect() from open waits for the close, then closed', async () => {
  const { socket, net, path } = await openSocket();
  const done = socket.disconnect();
  assert.equal(socket.state, 'closing');
  assert.deepEqual(net.current.closedWith, { code: 1000, reason: 'client disconnect' });
  net.current.drop({ code: 1000 });
  await done;
  assert.deepEqual(path().slice(-2), ['closing:disconnect', 'closed:closed']);
});

test('heartbeat: dead link detected at interval + timeout, then reconnect', async () => {
  const { socket, net, clock, path } = await openSocket({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 500 });
  const conn = net.current;
  await clock.advanceAsync(1000);
  assert.deepEqual(conn.last('heartbeat'), [null, conn.last('heartbeat')[1], 'phoenix', 'heartbeat', {}]);
  conn.reply('heartbeat');
  assert.equal(socket.stats().lastRttMs, 0);
  await clock.advanceAsync(1499);
  assert.equal(socket.state, 'open');
  await clock.advanceAsync(1);
  assert.deepEqual(path().slice(-1), ['reconnecting:heartbeat_timeout']);
  assert.equal(socket.stats().heartbeatMisses, 1);
  assert.deepEqual(conn.closedWith, { code: 1000, reason: 'heartbeat timeout' });
});

test('page signals: online / visible / pageshow reconnect at once, or probe when open; hidden tabs are not declared dead', async () => {
  const env = fakePage();
  const { socket, net, clock } = await openSocket({ page: env, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 500, reconnect: () => 60_000 });
  env.fire('online');
  assert.equal(net.current.frames().filter((f) => f[3] === 'heartbeat').length, 1, 'online probes at once');
  net.current.reply('heartbeat');
  env.hidden = true;
  env.fire('visibilitychange');
  await clock.advanceAsync(10_000);
  assert.equal(socket.state, 'open', 'no death declared while hidden');
  env.hidden = false;
  env.fire('visibilitychange');
  const beats = net.current.frames().filter((f) => f[3] === 'heartbeat').length;
  assert.equal(beats, 3, 'probe on return');
  await clock.advanceAsync(500);
  assert.equal(socket.state, 'reconnecting', 'the unanswered probe ends the link');
  env.fire('online');
  await clock.advanceAsync(0);
  assert.equal(net.connections.length, 2, 'online cut the 60 s delay short');
  net.current.drop({ opened: false });
  env.fire('pageshow');
  await clock.advanceAsync(0);
  assert.equal(net.connections.length, 3);
});

test('ping() resolves with the round trip', async () => {
  const { socket, net, clock } = await openSocket();
  const p = socket.ping();
  await clock.advanceAsync(25);
  net.current.reply('heartbeat');
  assert.equal(await p, 25);
  assert.equal(socket.stats().lastRttMs, 25);
  assert.equal(socket.stats().pendingPushes, 0);
});

test('stats count frames and bytes both ways', async () => {
  const { socket, net } = await openSocket();
  net.current.deliver('[null,null,"x","y",{"a":1}]');
  net.current.deliver(new Uint8Array([2, 1, 1, 120, 121, 7, 7]));
  const s = socket.stats();
  assert.equal(s.messagesIn, 2);
  assert.equal(s.bytesIn, 27 + 7);
  void socket.ping();
  assert.equal(socket.stats().bytesOut, Buffer.byteLength(net.current.sent.at(-1) as string));
  assert.equal(s.state, 'open');
});

test('an undecodable frame is counted and raises invalid_frame with a sentence', async () => {
  const { socket, net, errors } = await openSocket();
  net.current.deliver('{not json');
  assert.equal(socket.stats().invalidFrames, 1);
  assert.equal(errors[0].code, 'invalid_frame');
  assert.match(errors[0].message, /does not decode/);
});

function fakePage() {
  const listeners = new Map<string, () => void>();
  const env = {
    hidden: false,
    listeners,
    addEventListener: (type: string, fn: () => void) => void listeners.set(type, fn),
    removeEventListener: (type: string) => void listeners.delete(type),
    isHidden: () => env.hidden,
    fire: (type: string) => listeners.get(type)?.(),
  };
  return env;
}

test('a suspended process (wall clock jumps, timers late) probes instead of declaring the link dead', async () => {
  const { socket, net, clock } = await openSocket({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 500 });
  await clock.advanceAsync(1000);
  const beats = () => net.current.frames().filter((f) => f[3] === 'heartbeat');
  assert.equal(beats().length, 1);
  clock.jump(3_600_000);
  await clock.advanceAsync(0);
  assert.equal(socket.state, 'open', 'no false death');
  assert.equal(beats().length, 2, 'probe sent at once');
  assert.equal(socket.stats().timeJumps, 1);
  net.current.reply('heartbeat');
  await clock.advanceAsync(1400);
  assert.equal(socket.state, 'open');
});

test('providers that throw: provider_failed, retried with backoff', async () => {
  let calls = 0;
  const { socket, net, clock, errors, path } = fakeSocket({
    params: () => {
      if (++calls === 1) throw new Error('no session yet');
      return { ok: 1 };
    },
  });
  socket.connect();
  await clock.advanceAsync(0);
  assert.equal(errors[0].code, 'provider_failed');
  assert.match(errors[0].message, /no session yet/);
  assert.deepEqual(path(), ['connecting:connect', 'reconnecting:provider_failed']);
  await clock.advanceAsync(100);
  assert.equal(net.connections.length, 1);
  assert.equal(socket.state, 'connecting');
});

test('misuse is refused with a clear error: ping before open, a second live channel, bad payloads', async () => {
  const { socket } = fakeSocket();
  await assert.rejects(socket.ping(), (e: Error & { code: string }) => e.code === 'not_connected' && /connect\(\)/.test(e.message));
  const { socket: open, clock, net } = await openSocket();
  const channel = open.channel('room:1');
  assert.throws(() => open.channel('room:1'), (e: Error & { code: string }) => e.code === 'duplicate_channel');
  assert.throws(() => channel.push('phx_join', {}), /not a valid event name/);
  assert.throws(() => channel.push('x', [] as never), /plain object/);
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const long = await channel.push('e'.repeat(300), new Uint8Array([1]));
  assert.equal(long.status === 'rejected' && long.error.code, 'invalid_payload');
  assert.match(long.status === 'rejected' ? long.error.message : '', /255/);
  assert.equal(open.stats().outboxDepth, 0);
  const v1 = await openSocket({ vsn: '1.0.0' });
  const ch1 = v1.socket.channel('room:1');
  ch1.join();
  await v1.clock.advanceAsync(0);
  const join = JSON.parse(v1.net.current.sent.at(-1) as string) as { ref: string };
  v1.net.current.deliver(JSON.stringify({ event: 'phx_reply', payload: { response: {}, status: 'ok' }, ref: join.ref, topic: 'room:1' }));
  assert.equal(ch1.state, 'joined');
  const bin = await ch1.push('bin', new Uint8Array([1]));
  assert.equal(bin.status, 'rejected');
  assert.match(bin.status === 'rejected' ? bin.error.message : '', /binary needs vsn 2\.0\.0/);
});
