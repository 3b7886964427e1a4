/** Our client's outgoing frames equal phoenix.js's, byte for byte (../shared/phoenix-golden-frames.json). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBinary, encodeBinary } from '../../src/protocol/index.ts';
import { golden, wire } from '../helpers/golden.ts';
import { openSocket } from './setup.ts';

test('V2: join, push, error push, heartbeat and leave are byte-identical to phoenix.js', async () => {
  const { socket, net, clock } = await openSocket({ messageIds: false });
  const conn = net.current;
  // phoenix.js's first join carries ref "3"; spend refs 1 and 2 on pings so ours does too.
  void socket.ping().catch(() => {});
  void socket.ping().catch(() => {});
  const channel = socket.channel('room:lobby', { user: 'alice' });
  channel.join();
  await clock.advanceAsync(0);
  assert.equal(conn.sent.at(-1), golden('v2_join').frame);
  conn.deliver(golden('v2_join_reply_ok').frame);
  assert.equal(channel.state, 'joined');
  void socket.ping().catch(() => {});
  channel.push('new_msg', { body: 'hi' });
  assert.equal(conn.sent.at(-1), golden('v2_push').frame);
  channel.push('new_msg', { body: '' });
  assert.equal(conn.sent.at(-1), golden('v2_push_error').frame);
  void socket.ping().catch(() => {});
  assert.equal(conn.sent.at(-1), golden('v2_heartbeat').frame);
  conn.deliver(golden('v2_push_reply_ok').frame);
  conn.deliver(golden('v2_push_reply_error').frame);
  conn.deliver(golden('v2_heartbeat_reply').frame);
  channel.leave();
  assert.equal(conn.sent.at(-1), golden('v2_leave').frame);
});

test('with message ids on (the default), the five Phoenix elements are unchanged and the id rides as a sixth', async () => {
  const { socket, net, clock } = await openSocket();
  void socket.ping().catch(() => {});
  void socket.ping().catch(() => {});
  const channel = socket.channel('room:lobby', { user: 'alice' });
  channel.join();
  await clock.advanceAsync(0);
  net.current.deliver(golden('v2_join_reply_ok').frame);
  void socket.ping().catch(() => {});
  const push = channel.push('new_msg', { body: 'hi' });
  const g = golden('v2_push').frame;
  assert.equal(net.current.sent.at(-1), `${g.slice(0, -1)},{"id":${JSON.stringify(push.id)}}]`);
});

test('V2 binary push: same bytes as phoenix.js for the same refs', async () => {
  const { socket, net, clock } = await openSocket();
  const g = decodeBinary(wire(golden('v2_bin_push_integration')) as Uint8Array, 'client->server');
  const channel = socket.channel(g.topic);
  channel.join();
  await clock.advanceAsync(0);
  net.current.reply('phx_join');
  const push = channel.push(g.event, g.payload as Uint8Array);
  const ours = net.current.sent.at(-1) as Uint8Array;
  const expected = encodeBinary({ ...g, joinRef: channel.joinRef, ref: push.ref }, 'client->server');
  assert.deepEqual([...ours], [...expected]);
});

test('V1 (vsn 1.0.0): join and heartbeat carry the same fields as phoenix.js', async () => {
  const { socket, net, clock } = await openSocket({ vsn: '1.0.0' });
  assert.match(net.current.url, /vsn=1\.0\.0$/);
  const channel = socket.channel('room:lobby');
  channel.join();
  await clock.advanceAsync(0);
  assert.equal(net.current.sent.at(-1), golden('v1_join_with_join_ref').frame);
  void socket.ping().catch(() => {});
  const beat = JSON.parse(net.current.sent.at(-1) as string) as Record<string, unknown>;
  assert.deepEqual({ ...beat, join_ref: undefined }, { ...JSON.parse(golden('v1_heartbeat').frame), join_ref: undefined });
});
