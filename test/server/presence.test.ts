/** Presence in Phoenix's shapes: presence_state after join, presence_diff joins/leaves, updates, replication. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import type { PresenceChange } from '../../src/broker/types.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { newPhxRef, type PresenceList } from '../../src/server/presence.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';

type Diff = { joins: PresenceList; leaves: PresenceList };
const PHX_REF = /^[A-Za-z0-9_-]{16}$/;

const tracked: ChannelDefinition = {
  join: () => ok(),
  afterJoin(socket) {
    socket.presence.track(socket, socket.connectParams.user, { status: 'online' });
    socket.push('presence_state', socket.presence.list(socket.topic));
  },
  handleIn(event, _payload, socket) {
    if (event === 'away') socket.presence.update(socket, socket.connectParams.user, (old) => ({ ...old, status: 'away' }));
    if (event === 'untrack') socket.presence.untrack(socket, socket.connectParams.user);
    return ok();
  },
};

async function frame(c: RawClient): Promise<[string | null, string | null, string, string, unknown]> {
  return (await c.json()) as [string | null, string | null, string, string, unknown];
}

test('phx_ref is url-safe base64 of 12 bytes (16 characters)', () => {
  const refs = new Set(Array.from({ length: 100 }, newPhxRef));
  assert.equal(refs.size, 100);
  for (const r of refs) assert.match(r, PHX_REF);
});

test('presence_state is a channel push after the join reply; diffs are broadcasts; a closed connection leaves', async () => {
  const s = await startServer({ channels: { 'room:*': roomChannel } });
  const alice = await RawClient.connect(s.endpoint({ user: 'alice' }));
  assert.deepEqual(await join(alice, 'room:lobby', '3'), ['3', '3', 'room:lobby', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
  const [jr, ref, , event, state] = await frame(alice);
  assert.deepEqual([jr, ref, event], ['3', null, 'presence_state']);
  const aliceMeta = (state as PresenceList).alice.metas[0];
  assert.match(aliceMeta.phx_ref, PHX_REF);
  assert.match(String(aliceMeta.online_at), /^\d+$/);
  assert.deepEqual(await frame(alice), [null, null, 'room:lobby', 'presence_diff', { joins: { alice: { metas: [aliceMeta] } }, leaves: {} }]);

  const bob = await RawClient.connect(s.endpoint({ user: 'bob' }));
  await join(bob, 'room:lobby', '1');
  const bobState = (await frame(bob))[4] as PresenceList;
  assert.deepEqual(Object.keys(bobState).sort(), ['alice', 'bob']);
  const diff = (await frame(alice))[4] as Diff;
  assert.deepEqual(Object.keys(diff.joins), ['bob']);
  bob.close();
  const leave = await frame(alice);
  assert.deepEqual(leave, [null, null, 'room:lobby', 'presence_diff', { joins: {}, leaves: { bob: { metas: [bobState.bob.metas[0]] } } }]);
  assert.deepEqual(Object.keys(s.server.presence.list('room:lobby')), ['alice']);
  alice.close();
  await s.server.close();
});

test('an update is a join of the new meta (phx_ref_prev) and a leave of the old meta in one diff; untrack and leave remove', async () => {
  const s = await startServer({ channels: { 'team:*': tracked } });
  const c = await RawClient.connect(s.endpoint({ user: 'bob' }));
  await join(c, 'team:a', '1');
  const first = ((await frame(c))[4] as PresenceList).bob.metas[0];
  await frame(c);
  c.send(['1', '2', 'team:a', 'away', {}]);
  await frame(c);
  const diff = (await frame(c))[4] as Diff;
  assert.deepEqual(diff.leaves, { bob: { metas: [first] } });
  const updated = diff.joins.bob.metas[0];
  assert.equal(updated.phx_ref_prev, first.phx_ref);
  assert.notEqual(updated.phx_ref, first.phx_ref);
  assert.equal(updated.status, 'away');
  c.send(['1', '3', 'team:a', 'untrack', {}]);
  await frame(c);
  assert.deepEqual((await frame(c))[4], { joins: {}, leaves: { bob: { metas: [updated] } } });
  assert.deepEqual({ ...s.server.presence.list('team:a') }, {});
  c.close();
  await s.server.close();
});

test('changes are published through the broker; other nodes\' changes and nodeDown reach local subscribers', async () => {
  const broker = new MemoryBroker({ nodeId: 'n1' });
  const published: Omit<PresenceChange, 'node'>[] = [];
  const publishPresence = broker.publishPresence.bind(broker);
  broker.publishPresence = (change) => {
    published.push(change);
    return publishPresence(change);
  };
  const s = await startServer({ channels: { 'team:*': tracked }, broker });
  const c = await RawClient.connect(s.endpoint({ user: 'ann' }));
  await join(c, 'team:r', '1');
  await frame(c);
  await frame(c);
  assert.deepEqual(published.map((p) => [p.topic, p.key, p.kind]), [['team:r', 'ann', 'join']]);
  const carol = { phx_ref: newPhxRef(), status: 'remote' };
  s.server.presence.applyRemote({ topic: 'team:r', key: 'carol', node: 'n2', kind: 'join', meta: carol });
  assert.deepEqual((await frame(c))[4], { joins: { carol: { metas: [carol] } }, leaves: {} });
  assert.deepEqual(Object.keys(s.server.presence.list('team:r')).sort(), ['ann', 'carol']);
  s.server.presence.nodeDown('n2');
  assert.deepEqual((await frame(c))[4], { joins: {}, leaves: { carol: { metas: [carol] } } });
  c.close();
  await s.server.close();
  assert.deepEqual(published.map((p) => p.kind), ['join', 'leave'], 'closing the connection untracks through the broker');
});

test('with presenceBatchMs, changes within the window go out as one diff', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ channels: { 'team:*': tracked }, clock, presenceBatchMs: 100 });
  const a = await RawClient.connect(s.endpoint({ user: 'a' }));
  await join(a, 'team:b', '1');
  await frame(a);
  const b = await RawClient.connect(s.endpoint({ user: 'b' }));
  await join(b, 'team:b', '1');
  await frame(b);
  assert.ok(await a.silentFor(50), 'nothing before the batch window ends');
  clock.advance(100);
  const diff = (await frame(a))[4] as Diff;
  assert.deepEqual(Object.keys(diff.joins).sort(), ['a', 'b']);
  a.close();
  b.close();
  await s.server.close();
});
