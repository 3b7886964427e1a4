/**
 * The stock `phoenix` client (1.8) over its LongPoll transport against our server, in Node (no XMLHttpRequest
 * there, so phoenix.js uses fetch): joins, pushes and replies, broadcasts across transports, presence, binary,
 * a refused connect, and a session the server ends (the client opens a new one and rejoins by itself).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LongPoll, Presence, Socket, type Channel, type SocketConnectOption } from 'phoenix';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { ok, type ChannelDefinition } from '../../src/server/index.ts';
import type { ConnectInfo } from '../../src/server/options.ts';
import { joinChannel as join, presenceSynced, push as pushTo } from '../helpers/phoenix-stock.ts';

const joinChannel = (channel: Channel) => join(channel, 2000);
const push = (channel: Channel, event: string, payload: object | ArrayBuffer) => pushTo(channel, event, payload, 2000);
import { startServer, type Started } from '../helpers/server-fixtures.ts';

const TOKEN = 's3cret';
/** Replies with what arrived, so a binary push is answered in JSON (phoenix.js LongPoll cannot read binary). */
const bytesChannel: ChannelDefinition = {
  join: () => ok({}),
  handleIn: (_event, payload) => ok(payload instanceof Uint8Array ? { bytes: [...payload] } : { json: payload }),
};
let s: Started;
const sockets: Socket[] = [];
const transports: string[] = [];

before(async () => {
  s = await startServer({
    channels: { 'room:*': roomChannel, 'bytes:*': bytesChannel },
    connect: ({ params, transport }: ConnectInfo) => {
      transports.push(transport);
      return params.token === TOKEN && { id: params.user ?? null };
    },
  });
});
after(async () => {
  for (const socket of sockets) socket.disconnect();
  await s.server.close();
});

function open(opts: Partial<SocketConnectOption> = {}, transport: 'longpoll' | 'websocket' = 'longpoll'): Promise<Socket> {
  const socket = new Socket(s.url, {
    ...(transport === 'longpoll' ? { transport: LongPoll } : {}),
    params: { token: TOKEN },
    rejoinAfterMs: () => 30,
    reconnectAfterMs: () => 30,
    timeout: 2000,
    ...opts,
  });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.onOpen(() => resolve(socket));
    socket.connect();
  });
}

test('join, push with ok and error replies, and the connect hook sees transport "longpoll"', async () => {
  const socket = await open();
  const channel = socket.channel('room:lp');
  assert.deepEqual(await joinChannel(channel), { joined: true });
  assert.deepEqual(await push(channel, 'echo', { hi: 1 }), { status: 'ok', response: { hi: 1 } });
  assert.deepEqual(await push(channel, 'fail', {}), { status: 'error', response: { reason: 'nope' } });
  assert.ok(transports.includes('longpoll'));
});

test('broadcasts cross transports both ways: a long-poll client and a WebSocket client in one room', async () => {
  const lp = await open({ params: { token: TOKEN, user: 'lp' } });
  const ws = await open({ params: { token: TOKEN, user: 'ws' } }, 'websocket');
  const a = lp.channel('room:mixed');
  const b = ws.channel('room:mixed');
  await joinChannel(a);
  await joinChannel(b);
  const atLp = new Promise((resolve) => a.on('shout', resolve));
  const atWs = new Promise((resolve) => b.on('shout', resolve));
  b.push('shout', { from: 'ws' });
  assert.deepEqual(await atLp, { from: 'ws' });
  a.push('shout', { from: 'lp' });
  let got = await atWs;
  // The WebSocket client sees its own shout too; wait for the one from long-poll.
  if ((got as { from: string }).from === 'ws') got = await new Promise((resolve) => b.on('shout', (p: { from: string }) => {
      if (p.from === 'lp') resolve(p);
    }));
  assert.deepEqual(got, { from: 'lp' });
});

test('the stock Presence class syncs a long-poll member with a WebSocket member, and its leave', async () => {
  const alice = await open({ params: { token: TOKEN, user: 'alice' } }, 'websocket');
  const bob = await open({ params: { token: TOKEN, user: 'bob' } });
  const ca = alice.channel('room:presence-lp');
  const presence = new Presence(ca);
  const synced = (want: string[]) => presenceSynced(presence, want);
  await joinChannel(ca);
  await synced(['alice']);
  const cb = bob.channel('room:presence-lp');
  const bobSees = new Presence(cb);
  await joinChannel(cb);
  await synced(['alice', 'bob']);
  await presenceSynced(bobSees, ['alice', 'bob']);
  cb.leave();
  await synced(['alice']);
});

test('binary: an ArrayBuffer push travels as base64 in the POST and arrives as bytes', async () => {
  const socket = await open();
  const channel = socket.channel('bytes:1');
  await joinChannel(channel);
  const outcome = await push(channel, 'raw', new Uint8Array([0, 1, 2, 250, 255]).buffer);
  assert.deepEqual(outcome, { status: 'ok', response: { bytes: [0, 1, 2, 250, 255] } });
});

test('a refused connect (403): phoenix.js reports the error and does not open', async () => {
  const bad = new Socket(s.url, { transport: LongPoll, params: { token: 'wrong' }, reconnectAfterMs: () => 1000 });
  sockets.push(bad);
  let opened = false;
  bad.onOpen(() => {
    opened = true;
  });
  const error = new Promise((resolve) => bad.onError((e) => resolve(e)));
  bad.connect();
  assert.equal(await error, 403);
  bad.disconnect();
  assert.equal(opened, false);
});

test('a session the server ends (disconnect(id)): the client gets 410, opens a new session and rejoins', async () => {
  const socket = await open({ params: { token: TOKEN, user: 'kicked' } });
  const channel = socket.channel('room:kick');
  await joinChannel(channel);
  let opens = 0;
  const reopened = new Promise<void>((resolve) =>
    socket.onOpen(() => {
      if (++opens === 1) resolve();
    }),
  );
  assert.equal(s.server.disconnect('kicked'), 1);
  await reopened;
  await new Promise<void>((resolve) => {
    const wait = () => (channel.state === 'joined' ? resolve() : setTimeout(wait, 10));
    wait();
  });
  assert.deepEqual(await push(channel, 'echo', { back: true }), { status: 'ok', response: { back: true } });
});
