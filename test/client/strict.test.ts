/** A strict client against a hostile server on loopback: foreign join_refs and malformed replies never settle a push. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Socket, type TetherClientError } from '../../src/client/index.ts';
import { hostileServer, type HostileOptions, type V2Frame } from './hostile-server.ts';

async function connectTo(t: TestContext, options: HostileOptions) {
  const server = await hostileServer(options);
  t.after(() => server.close());
  const socket = new Socket(server.url, { page: false, reconnect: () => 50 });
  const errors: TetherClientError[] = [];
  socket.on('error', (e) => errors.push(e));
  t.after(() => socket.disconnect());
  socket.connect();
  const room = socket.channel('room:1');
  await room.join();
  return { server, socket, room, errors };
}

const joinOk = (f: V2Frame, send: (frame: V2Frame) => void) => {
  if (f[3] === 'phx_join') send([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: {} }]);
};

test('a reply with the right ref but a foreign join_ref is dropped and counted, not taken as the answer', async (t) => {
  const { socket, room } = await connectTo(t, {
    onFrame: (f, send) => {
      joinOk(f, send);
      if (f[3] !== 'echo') return;
      for (let i = 0; i < 29; i++) send(['999', f[1], f[2], 'phx_reply', { status: 'ok', response: { forged: i } }]);
      send([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: { genuine: true } }]);
    },
  });
  assert.deepEqual(await room.request('echo', {}), { genuine: true });
  assert.equal(socket.stats().staleDropped, 29);
});

test('messages with a foreign join_ref are dropped and counted; the current and null join_refs are delivered', async (t) => {
  const got: string[] = [];
  const { socket, room } = await connectTo(t, {
    onFrame: (f, send) => {
      joinOk(f, send);
      if (f[3] !== 'go') return;
      send(['999', null, f[2], 'shout', { body: 'foreign' }]);
      send([f[0], null, f[2], 'shout', { body: 'current' }]);
      send([null, null, f[2], 'shout', { body: 'broadcast' }]);
      send([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: {} }]);
    },
  });
  room.on('shout', (p) => got.push((p as { body: string }).body));
  await room.request('go', {});
  assert.deepEqual(got, ['current', 'broadcast']);
  assert.equal(socket.stats().staleDropped, 1);
});

test('a reply without {status, response} is an invalid_frame, counted, and does not resolve the push', async (t) => {
  const { socket, room, errors } = await connectTo(t, {
    onFrame: (f, send) => {
      joinOk(f, send);
      if (f[3] !== 'echo') return;
      send([f[0], f[1], f[2], 'phx_reply', { hello: 1 }]);
      send([f[0], f[1], f[2], 'phx_reply', { status: 'ok' }]);
      send([f[0], f[1], f[2], 'phx_reply', { status: 'ok', response: {} }]);
    },
  });
  assert.deepEqual(await room.request('echo', {}), {});
  assert.equal(socket.stats().invalidFrames, 2);
  assert.deepEqual(errors.map((e) => e.code), ['invalid_frame', 'invalid_frame']);
  assert.match(errors[0].message, /without \{status, response\}/);
});
