/**
 * The hooks' channel registry against our server: StrictMode's release-then-acquire in one tick keeps the one
 * channel (one join, no leave); the last release leaves; holders share the first params and a different
 * request warns; a refused join shows as the snapshot's error; presence is listened to from before the join.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Socket } from '../../src/client/index.ts';
import { UpdateBatcher } from '../../src/react/index.ts';
import { ChannelRegistry, presenceOf } from '../../src/react/registry.ts';
import { startRoomServer } from '../client/live.ts';
import { pollUntil as waitFor } from '../helpers/poll.ts';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup() {
  const { server, url } = await startRoomServer();
  const joins: string[] = [];
  const leaves: string[] = [];
  server.observe({ channelJoined: ({ topic }) => joins.push(topic), channelLeft: ({ topic, reason }) => leaves.push(`${topic}:${reason}`) });
  const socket = new Socket(url, { reconnect: () => 50, params: { user: 'alice' } });
  socket.connect();
  cleanups.push(() => server.close(), () => socket.disconnect());
  const registry = new ChannelRegistry(socket, new UpdateBatcher({ mode: 'sync' }));
  return { registry, joins, leaves, socket };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

test('release then acquire in the same tick (StrictMode) keeps one channel; the last release leaves', async () => {
  const { registry, joins, leaves } = await setup();
  let changes = 0;
  const release1 = registry.acquire('room:a', { x: 1 }, undefined, () => changes++);
  release1();
  const release2 = registry.acquire('room:a', { x: 1 }, undefined, () => changes++);
  await waitFor(() => registry.snapshot('room:a').state === 'joined', 'joined');
  assert.ok(changes > 0, 'holders hear about state changes');
  const channel = registry.snapshot('room:a').channel!;
  await waitFor(() => presenceOf(channel).list().length === 1, 'presence state received');
  assert.deepEqual(presenceOf(channel).list((k) => k), ['alice']);
  await tick();
  assert.deepEqual(joins, ['room:a']);
  assert.deepEqual(leaves, []);
  release2();
  release2();
  await waitFor(() => leaves.length === 1, 'the server to see the leave');
  assert.deepEqual(leaves, ['room:a:leave']);
  assert.equal(registry.snapshot('room:a').channel, null);
  await waitFor(() => channel.state === 'closed', 'the leave reply');
  const again = registry.acquire('room:a', { x: 1 }, undefined, () => {});
  await waitFor(() => registry.snapshot('room:a').state === 'joined', 'a new channel joined');
  assert.notEqual(registry.snapshot('room:a').channel, channel);
  again();
});

test('holders share the first params; different ones warn once per holder, key order and providers do not', async (t) => {
  const { registry, joins } = await setup();
  const warned: string[] = [];
  t.mock.method(console, 'warn', (message: string) => warned.push(message));
  const a = registry.acquire('room:b', { a: 1, b: 2 }, { joinTimeoutMs: 500 }, () => {});
  const b = registry.acquire('room:b', { b: 2, a: 1 }, { joinTimeoutMs: 500 }, () => {});
  const c = registry.acquire('room:b', () => ({ a: 1 }), undefined, () => {});
  assert.deepEqual(warned, []);
  const d = registry.acquire('room:b', { a: 9 }, undefined, () => {});
  assert.equal(warned.length, 1);
  assert.match(warned[0], /useChannel\("room:b"\).*differ.*"a":1,"b":2/);
  await waitFor(() => registry.snapshot('room:b').state === 'joined', 'joined');
  await tick();
  assert.deepEqual(joins, ['room:b']);
  for (const release of [a, b, c, d]) release();
});

test('a refused join is the snapshot error; dispose() leaves everything at once', async () => {
  const { registry, leaves } = await setup();
  const refused = registry.acquire('room:private', undefined, undefined, () => {});
  await waitFor(() => registry.snapshot('room:private').error !== null, 'the refusal');
  const snap = registry.snapshot('room:private');
  assert.equal(snap.error!.code, 'join_refused');
  assert.equal(snap.state, 'closed');
  registry.acquire('room:c', undefined, undefined, () => {});
  await waitFor(() => registry.snapshot('room:c').state === 'joined', 'joined');
  registry.dispose();
  await waitFor(() => leaves.includes('room:c:leave'), 'the leave of room:c');
  assert.equal(registry.snapshot('room:c').channel, null);
  refused();
});
