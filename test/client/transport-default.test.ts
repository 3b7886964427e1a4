/** The default transport in Node is `ws`: a refused upgrade is `auth`, and an oversize frame closes the link before it is read. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { globalWebSocketTransport, Socket, type SocketOptions, type TetherClientError } from '../../src/client/index.ts';
import { hostileServer } from './hostile-server.ts';
import { notifyChange, waitFor } from '../../src/testing/index.ts';

test('with no transport option, a refused upgrade (403) ends in failed with reason auth, not endless retries', async (t) => {
  const server = await hostileServer({ refuseWith: 403 });
  t.after(() => server.close());
  const socket = new Socket(server.url, { page: false, authToken: () => 'bad', reconnect: () => 20 });
  t.after(() => socket.disconnect());
  socket.on('state', () => notifyChange('state'));
  socket.connect();
  await waitFor(() => socket.state === 'failed', { what: 'failed', timeoutMs: 3000 });
  const last = socket.transitions.at(-1)!;
  assert.equal(last.reason, 'auth');
  assert.equal(last.detail.status, 403);
  assert.equal(server.upgrades.length, 2, 'once, then once more with a fresh token');
});

/** A server that sends `frame` on the first connection only; resolves once the client has reconnected. */
async function firstFrameThenReconnect(t: TestContext, frame: string, options: SocketOptions = {}) {
  let connections = 0;
  const server = await hostileServer({ onConnection: (ws) => void (++connections === 1 && ws.send(frame)) });
  t.after(() => server.close());
  const socket = new Socket(server.url, { page: false, reconnect: () => 20, ...options });
  const errors: TetherClientError[] = [];
  socket.on('error', (e) => errors.push(e));
  socket.on('state', () => notifyChange('state'));
  t.after(() => socket.disconnect());
  socket.connect();
  await waitFor(() => connections === 2 && socket.state === 'open', { what: 'reconnected', timeoutMs: 5000 });
  return { socket, errors };
}

test('a 50 MB frame is refused from its header: the link closes with frame_too_large and the client reconnects', async (t) => {
  const { socket, errors } = await firstFrameThenReconnect(t, Buffer.alloc(50 * 1024 * 1024, 0x20).toString());
  assert.deepEqual(errors.map((e) => e.code), ['frame_too_large']);
  // The ws transport's words: refused from the length header, before any of the 50 MB was read. The socket's own
  // check (any transport) would name the size of a frame it had already read: "a frame of 52428800 bytes".
  assert.match(errors[0].message, /\(1009\): the server sent a frame over maxFrameBytes \(8388608 bytes\)/);
  assert.doesNotMatch(errors[0].message, /a frame of \d+ bytes/);
  assert.ok(socket.transitions.some((tr) => tr.reason === 'frame_too_large' && tr.detail.code === 1009));
  assert.equal(socket.stats().messagesIn, 0, 'the frame was never delivered');
});

test('a frame over a smaller maxFrameBytes on any transport is dropped and the link reconnects', async (t) => {
  const frame = JSON.stringify([null, null, 'room:1', 'big', { x: 'é'.repeat(600) }]);
  const { socket, errors } = await firstFrameThenReconnect(t, frame, { maxFrameBytes: 1024, transport: globalWebSocketTransport });
  assert.deepEqual(errors.map((e) => e.code), ['frame_too_large']);
  assert.equal(socket.stats().messagesIn, 0, 'dropped before decoding');
  assert.match(errors[0].message, /a frame of 12\d\d bytes/, 'measured in UTF-8 bytes (600 é are 1200 bytes)');
});
