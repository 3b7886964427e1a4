/** The stock `phoenix` npm client (1.8) against our server: it must not notice it is not talking to Phoenix. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Presence, Socket, type Channel, type SocketConnectOption } from 'phoenix';
import { roomChannel } from '../../src/demo/room-channel.ts';
import type { ConnectInfo } from '../../src/server/options.ts';
import { joinChannel, presenceSynced, push } from '../helpers/phoenix-stock.ts';
import { startServer, type Started } from '../helpers/server-fixtures.ts';

const TOKEN = 's3cret';
let s: Started;
const sockets: Socket[] = [];
let heartbeats = 0;

before(async () => {
  s = await startServer({
    channels: { 'room:*': roomChannel },
    connect: ({ params, authToken }: ConnectInfo) => params.token === TOKEN || authToken === TOKEN,
    idleTimeoutMs: 400,
    sweepIntervalMs: 50,
  });
  s.server.observe({ heartbeat: () => heartbeats++ });
});
after(async () => {
  for (const socket of sockets) socket.disconnect();
  await s.server.close();
});

function open(opts: Partial<SocketConnectOption> = {}): Promise<Socket> {
  const socket = new Socket(s.url, { params: { token: TOKEN }, rejoinAfterMs: () => 30, reconnectAfterMs: () => 30, timeout: 500, ...opts });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.onOpen(() => resolve(socket));
    socket.connect();
  });
}

test('params auth: a good token connects, a bad one is refused (the client keeps retrying, never opens)', async () => {
  const socket = await open();
  assert.equal(socket.isConnected(), true);
  const bad = new Socket(s.url, { params: { token: 'wrong' }, reconnectAfterMs: () => 20, timeout: 500 });
  sockets.push(bad);
  let errors = 0;
  let opened = false;
  bad.onError(() => {
    errors++;
  });
  bad.onOpen(() => {
    opened = true;
  });
  bad.connect();
  await new Promise((r) => setTimeout(r, 200));
  bad.disconnect();
  assert.equal(opened, false);
  assert.ok(errors >= 2, `expected repeated errors, got ${errors}`);
});

test('authToken auth (subprotocol) is accepted', async () => {
  const socket = await open({ params: {}, authToken: TOKEN });
  assert.equal(socket.isConnected(), true);
  const channel = socket.channel('room:auth');
  assert.deepEqual(await joinChannel(channel), { joined: true });
});

test('join ok and join error', async () => {
  const socket = await open();
  assert.deepEqual(await joinChannel(socket.channel('room:lobby')), { joined: true });
  const secret = socket.channel('room:private');
  await assert.rejects(joinChannel(secret), (resp: unknown) => (resp as { reason: string }).reason === 'unauthorized');
  secret.leave();
});

test('push with ok reply, error reply, and a client-side timeout', async () => {
  const socket = await open();
  const channel = socket.channel('room:push');
  await joinChannel(channel);
  assert.deepEqual(await push(channel, 'echo', { n: 1 }), { status: 'ok', response: { n: 1 } });
  assert.deepEqual(await push(channel, 'fail', {}), { status: 'error', response: { reason: 'nope' } });
  assert.deepEqual(await push(channel, 'noreply', {}, 100), { status: 'timeout' });
});

test('broadcasts reach the other client; leave closes the channel', async () => {
  const a = await open();
  const b = await open();
  const ca = a.channel('room:bc');
  const cb = b.channel('room:bc');
  await joinChannel(ca);
  await joinChannel(cb);
  const got = new Promise((resolve) => cb.on('shout', resolve));
  await push(ca, 'shout', { text: 'hello' }, 100);
  assert.deepEqual(await got, { text: 'hello' });
  const left = await new Promise((resolve) => ca.leave().receive('ok', () => resolve('ok')));
  assert.equal(left, 'ok');
  assert.equal(ca.state, 'closed');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(s.server.topics().get('room:bc'), 1);
});

test('a channel crash: the client sees phx_error and rejoins by itself', async () => {
  const socket = await open();
  const channel = socket.channel('room:crash');
  let joins = 0;
  let errored = 0;
  channel.onError(() => {
    errored++;
  });
  const rejoined = new Promise<void>((resolve) => {
    channel.join().receive('ok', () => {
      joins++;
      if (joins === 2) resolve();
    });
  });
  while (joins === 0) await new Promise((r) => setTimeout(r, 5));
  channel.push('crash', {});
  await rejoined;
  assert.equal(errored, 1);
  assert.deepEqual(await push(channel, 'echo', { after: 'rejoin' }), { status: 'ok', response: { after: 'rejoin' } });
});

test('heartbeats over several short intervals keep an otherwise idle socket alive past the idle timeout', async () => {
  const before = heartbeats;
  const socket = await open({ heartbeatIntervalMs: 60 });
  let closed = false;
  socket.onClose(() => {
    closed = true;
  });
  await new Promise((r) => setTimeout(r, 700));
  assert.ok(heartbeats - before >= 5, `expected at least 5 heartbeats, got ${heartbeats - before}`);
  assert.equal(closed, false, 'idleTimeoutMs is 400: only the heartbeats kept it open');
  assert.equal(socket.isConnected(), true);
});

test('V1 (vsn 1.0.0) with the object encoding', async () => {
  const socket = await open({
    vsn: '1.0.0',
    encode: (msg: object, callback: (encoded: string) => void) => callback(JSON.stringify(msg)),
    decode: (raw: string, callback: (decoded: unknown) => void) => callback(JSON.parse(raw)),
  } as Partial<SocketConnectOption>);
  const channel = socket.channel('room:v1');
  assert.deepEqual(await joinChannel(channel), { joined: true });
  assert.deepEqual(await push(channel, 'echo', { v: 1 }), { status: 'ok', response: { v: 1 } });
  const shout = new Promise((resolve) => channel.on('shout', resolve));
  await push(channel, 'shout', { v1: true }, 50);
  assert.deepEqual(await shout, { v1: true });
});

test('binary: an ArrayBuffer push gets an ArrayBuffer reply', async () => {
  const socket = await open();
  const channel = socket.channel('room:bin');
  await joinChannel(channel);
  const bytes = new Uint8Array([0, 1, 2, 250, 255]).buffer;
  const outcome = await push(channel, 'binary', bytes);
  assert.equal(outcome.status, 'ok');
  assert.ok(outcome.response instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(outcome.response)], [0, 1, 2, 250, 255]);
});

test('the stock Presence class syncs: onJoin, onLeave and onSync across two clients', async () => {
  const alice = await open({ params: { token: TOKEN, user: 'alice' } });
  const bob = await open({ params: { token: TOKEN, user: 'bob' } });
  const ca = alice.channel('room:presence');
  const presence = new Presence(ca);
  const joined: string[] = [];
  const leftKeys: string[] = [];
  presence.onJoin((key, current) => {
    if (!current) joined.push(key!);
  });
  presence.onLeave((key, current) => {
    if (current.metas.length === 0) leftKeys.push(key!);
  });
  const synced = (want: string[]) => presenceSynced(presence, want);
  await joinChannel(ca);
  await synced(['alice']);
  const cb = bob.channel('room:presence');
  await joinChannel(cb);
  await synced(['alice', 'bob']);
  cb.leave();
  await synced(['alice']);
  assert.deepEqual(joined.sort(), ['alice', 'bob']);
  assert.deepEqual(leftKeys, ['bob']);
});
