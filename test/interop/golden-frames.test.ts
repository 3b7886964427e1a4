/**
 * The golden client->server frames fed over a raw socket; our answers must equal the golden server->client
 * frames byte for byte (presence frames carry random phx_refs and times, so those compare by shape).
 * Where the golden file has an answer but no matching request, the request is built with the golden refs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { error, ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { golden, wire } from '../helpers/golden.ts';
import { RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

const bytes = (...b: number[]) => new Uint8Array(b);

/** Behaves like the Phoenix test channels the golden frames were taken from. */
const lobby: ChannelDefinition = {
  join(topic, params) {
    if (topic === 'room:secret') return error({ reason: 'unauthorized' });
    if (params.reply) return ok({ user_id: 42 });
    return ok();
  },
  afterJoin(socket) {
    const user = socket.connectParams.user;
    if (!user) return;
    socket.presence.track(socket, user, { online_at: '1763700000' });
    socket.push('presence_state', socket.presence.list(socket.topic));
  },
  handleIn(event, payload, socket) {
    switch (event) {
      case 'new_msg':
        return (payload as { body?: string }).body === '' ? error({ reason: 'invalid' }) : ok();
      case 'push_joined':
        socket.push('joined', { status: 'connected' });
        return undefined;
      case 'crash':
        throw new Error('golden crash');
      case 'away':
        socket.presence.update(socket, socket.connectParams.user, (old) => ({ ...old, status: 'away' }));
        return undefined;
      case 'binary_event':
        socket.push('binary_event', bytes(0, 1));
        return ok(bytes(1, 2, 3, 4));
      case 'bin_error':
        return error(bytes(0xff));
      case 'event':
        socket.push('event', payload);
        return ok(payload);
      default:
        return error({ reason: 'unknown' });
    }
  },
};
const crashingJoin: ChannelDefinition = {
  join() {
    throw new Error('join crash');
  },
};

let s: Started;
before(async () => {
  s = await startServer({ channels: { 'room:*': lobby, topic: lobby, t: lobby, 'custom:error': crashingJoin } });
});
after(() => s.server.close());

function show(m: string | Uint8Array): string {
  return typeof m === 'string' ? m : `hex ${Buffer.from(m).toString('hex')}`;
}

async function expectGolden(c: RawClient, name: string): Promise<void> {
  assert.equal(show(await c.next()), show(wire(golden(name))), name);
}

function feed(c: RawClient, name: string): void {
  c.send(wire(golden(name)));
}

test('V2 JSON: joins, replies, pushes, broadcasts, heartbeat, unmatched, crash, leave, duplicate join', async () => {
  const c = await RawClient.connect(s.endpoint());
  feed(c, 'v2_join');
  await expectGolden(c, 'v2_join_reply_ok');
  feed(c, 'v2_push');
  await expectGolden(c, 'v2_push_reply_ok');
  feed(c, 'v2_push_error');
  await expectGolden(c, 'v2_push_reply_error');
  c.send(['3', '20', 'room:lobby', 'push_joined', {}]);
  await expectGolden(c, 'v2_server_push');
  s.server.broadcast('room:lobby', 'new_msg', { body: 'hi' });
  await expectGolden(c, 'v2_broadcast');
  feed(c, 'v2_heartbeat');
  await expectGolden(c, 'v2_heartbeat_reply');
  feed(c, 'v2_push_unjoined');
  await expectGolden(c, 'v2_push_unjoined_reply');
  c.send(['3', '21', 'room:lobby', 'crash', {}]);
  await expectGolden(c, 'v2_phx_error');
  feed(c, 'v2_join');
  await expectGolden(c, 'v2_join_reply_ok');
  feed(c, 'v2_leave');
  await expectGolden(c, 'v2_leave_reply');
  await expectGolden(c, 'v2_phx_close');
  c.send(['3', '9', 'room:lobby', 'phx_leave', {}]);
  await expectGolden(c, 'v2_leave_unjoined_reply');
  feed(c, 'v2_join');
  await expectGolden(c, 'v2_join_reply_ok');
  feed(c, 'v2_duplicate_join');
  await expectGolden(c, 'v2_duplicate_join_reply');
  await expectGolden(c, 'v2_duplicate_join_old_close');
  feed(c, 'v2_join_unmatched_topic');
  await expectGolden(c, 'v2_join_unmatched_topic_reply');
  c.send(['4', '4', 'room:secret', 'phx_join', {}]);
  await expectGolden(c, 'v2_join_reply_error');
  c.send(['12', '2', 'custom:error', 'phx_join', {}]);
  await expectGolden(c, 'v2_join_reply_join_crashed');
  c.send(['1', '1', 't', 'phx_join', {}]);
  await c.next();
  s.server.broadcast('t', 'e', { m: 1 });
  await expectGolden(c, 'v2_server_test_message');
  c.close();
});

test('V2 JSON: join reply with a response, and too many channels', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send(['3', '3', 'room:lobby', 'phx_join', { reply: true }]);
  await expectGolden(c, 'v2_join_reply_ok_with_response');
  for (let i = 1; i < 100; i++) c.send([`j${i}`, `j${i}`, `room:${i}`, 'phx_join', {}]);
  for (let i = 1; i < 100; i++) await c.next();
  c.send(['5', '5', 'room:101', 'phx_join', {}]);
  await expectGolden(c, 'v2_join_reply_too_many_channels');
  c.close();
});

test('V1: object frames, never a join_ref', async () => {
  const c = await RawClient.connect(s.endpoint({ vsn: '1.0.0' }));
  feed(c, 'v1_join');
  await expectGolden(c, 'v1_join_reply_ok');
  feed(c, 'v1_heartbeat');
  await expectGolden(c, 'v1_heartbeat_reply');
  s.server.broadcast('room:lobby', 'new_msg', { body: 'hi' });
  await expectGolden(c, 'v1_broadcast');
  c.send(JSON.stringify({ topic: 'room:lobby', event: 'push_joined', payload: {}, ref: '5' }));
  await expectGolden(c, 'v1_server_push');
  c.send(JSON.stringify({ topic: 'room:other', event: 'x', payload: {}, ref: '3' }));
  await expectGolden(c, 'v1_unmatched_topic_reply');
  c.send(JSON.stringify({ topic: 'room:lobby', event: 'crash', payload: {}, ref: '6' }));
  await expectGolden(c, 'v1_phx_error');
  feed(c, 'v1_join');
  await expectGolden(c, 'v1_join_reply_ok');
  c.send(JSON.stringify({ topic: 'room:lobby', event: 'phx_leave', payload: {}, ref: '7' }));
  await c.next();
  await expectGolden(c, 'v1_phx_close');
  feed(c, 'v1_join_with_join_ref');
  await expectGolden(c, 'v1_join_reply_ok');
  c.close();
});

test('V2 binary: pushes, replies (ok and error), server pushes and broadcasts', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send(['11', '11', 'room:bin', 'phx_join', {}]);
  await c.next();
  feed(c, 'v2_bin_push_integration');
  await expectGolden(c, 'v2_bin_server_push_integration');
  await expectGolden(c, 'v2_bin_reply_integration');
  c.send(['12', '12', 'topic', 'phx_join', {}]);
  await c.next();
  feed(c, 'v2_bin_push_server_vector');
  await expectGolden(c, 'v2_bin_server_push_vector');
  await expectGolden(c, 'v2_bin_reply_vector');
  s.server.broadcast('topic', 'event', new Uint8Array(Buffer.from('efg')));
  await expectGolden(c, 'v2_bin_broadcast_vector');
  c.send(['3', '3', 'room:lobby', 'phx_join', {}]);
  await c.next();
  const topic = Buffer.from('room:lobby');
  c.send(new Uint8Array(Buffer.concat([Buffer.from([0, 1, 1, topic.length, 9]), Buffer.from('39'), topic, Buffer.from('bin_error'), Buffer.from([1])])));
  await expectGolden(c, 'v2_bin_reply_error');
  c.close();
});

type Meta = Record<string, unknown>;
/** Replaces phx_refs and times with placeholders so random values compare by shape. */
function shape(frame: unknown): unknown {
  return JSON.parse(JSON.stringify(frame), (key, value: unknown) => {
    if ((key === 'phx_ref' || key === 'phx_ref_prev') && typeof value === 'string' && /^[A-Za-z0-9_-]{16}$/.test(value)) return '<ref>';
    if (key === 'online_at' && typeof value === 'string' && /^\d+$/.test(value)) return '<time>';
    return value;
  });
}

test('presence frames have the golden shapes', async () => {
  const alice = await RawClient.connect(s.endpoint({ user: 'alice' }));
  feed(alice, 'v2_join');
  await alice.next();
  assert.deepEqual(shape(await alice.json()), shape(JSON.parse(golden('v2_presence_state').frame)));
  await alice.json();
  const bob = await RawClient.connect(s.endpoint({ user: 'bob' }));
  bob.send(['1', '1', 'room:lobby', 'phx_join', {}]);
  await bob.next();
  await bob.next();
  const join = (await alice.json()) as [null, null, string, string, { joins: Record<string, { metas: Meta[] }> }];
  assert.deepEqual(shape(join), shape(JSON.parse(golden('v2_presence_diff_join').frame)));
  const bobRef = join[4].joins.bob.metas[0].phx_ref;
  bob.send(['1', '2', 'room:lobby', 'away', {}]);
  const update = (await alice.json()) as [null, null, string, string, { joins: Record<string, { metas: Meta[] }>; leaves: Record<string, { metas: Meta[] }> }];
  assert.deepEqual(shape(update), shape(JSON.parse(golden('v2_presence_diff_update').frame)));
  assert.equal(update[4].joins.bob.metas[0].phx_ref_prev, bobRef);
  assert.equal(update[4].leaves.bob.metas[0].phx_ref, bobRef);
  assert.equal(((await bob.json()) as unknown[])[3], 'presence_diff', "bob's own join");
  assert.equal(((await bob.json()) as unknown[])[3], 'presence_diff', "bob's own update");
  alice.close();
  const leave = await bob.json();
  assert.deepEqual(shape(leave), shape(JSON.parse(golden('v2_presence_diff_leave').frame)));
  bob.close();
});

