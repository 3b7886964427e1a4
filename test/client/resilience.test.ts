/** Real failures on loopback: a server killed with SIGKILL and restarted, and a link that silently goes dead. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fullJitterBackoff } from '../../src/client/index.ts';
import { connectTestClient, createFaultyLink, waitFor } from '../../src/testing/index.ts';
import { killHard, spawnFixture, startRoomServer } from './live.ts';

const cleanups: (() => unknown)[] = [];
/** Room for connect, join and late timers when the whole suite shares two cores. */
const SCHEDULING_SLACK_MS = 500;
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('server killed (SIGKILL) and restarted: the client reconnects and rejoins every channel within one backoff step', async () => {
  const first = await spawnFixture('room-server.ts');
  cleanups.push(() => killHard(first.child));
  const port = first.port;
  const capMs = 400;
  const { socket } = await connectTestClient(`ws://127.0.0.1:${port}/socket`, { reconnect: fullJitterBackoff({ baseMs: 100, capMs }) });
  cleanups.push(() => socket.disconnect());
  const rooms = ['room:a', 'room:b', 'room:c'].map((t) => socket.channel(t));
  await Promise.all(rooms.map((r) => r.join()));
  const refs = rooms.map((r) => r.joinRef);
  await killHard(first.child);
  await waitFor(() => socket.state === 'reconnecting' || socket.state === 'connecting', 'loss noticed');
  assert.ok(rooms.every((r) => r.state === 'errored'));
  const second = await spawnFixture('room-server.ts', [String(port)]);
  cleanups.push(() => killHard(second.child));
  const upAt = Date.now();
  await waitFor(() => rooms.every((r) => r.state === 'joined'), 'every channel rejoined');
  const took = Date.now() - upAt;
  assert.ok(took <= capMs + SCHEDULING_SLACK_MS, `rejoined ${took} ms after the server was back; one backoff step is at most ${capMs} ms`);
  assert.ok(rooms.every((r, i) => r.joinRef !== refs[i]), 'new join_refs');
  const connectsAfterUp = socket.transitions.filter((t) => t.to === 'connecting' && t.at >= upAt).length;
  assert.ok(connectsAfterUp <= 1, `${connectsAfterUp} attempts after the server came back`);
  assert.equal(socket.stats().reconnects, 1);
});

test('a proxy that silently stops forwarding: the dead link is detected within heartbeat interval + timeout, then recovered', async () => {
  const { server, port } = await startRoomServer();
  cleanups.push(() => server.close());
  const proxy = await createFaultyLink({ target: port });
  cleanups.push(() => proxy.close());
  const intervalMs = 300;
  const timeoutMs = 300;
  const { socket } = await connectTestClient(proxy, { heartbeatIntervalMs: intervalMs, heartbeatTimeoutMs: timeoutMs, reconnect: () => 50 });
  cleanups.push(() => socket.disconnect());
  const room = socket.channel('room:proxy');
  await room.join();
  await waitFor(() => socket.stats().lastRttMs !== null, 'heartbeats answered through the proxy');
  proxy.set('blackhole');
  const cutAt = Date.now();
  await waitFor(() => socket.state !== 'open', 'dead link detected');
  const detectedIn = Date.now() - cutAt;
  assert.equal(socket.transitions.at(-1)?.reason, 'heartbeat_timeout');
  // The slack covers timers firing late on a loaded machine; without heartbeats TCP would take minutes.
  assert.ok(detectedIn <= intervalMs + timeoutMs + SCHEDULING_SLACK_MS, `detected after ${detectedIn} ms (bound ${intervalMs + timeoutMs} ms)`);
  proxy.resetAll();
  proxy.heal();
  await waitFor(() => socket.state === 'open' && room.state === 'joined', 'recovered through the proxy');
  assert.deepEqual(await room.push('echo', { ok: true }), { status: 'ok', response: { ok: true } });
});
