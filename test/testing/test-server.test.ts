/** The test server's hooks, each proven against a real Tether client on loopback. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ok, type ChannelDefinition } from '../../src/server/index.ts';
import { connectTestClient, createFaultyLink, createTestServer, VirtualClock, waitFor, WaitTimeoutError } from '../../src/testing/index.ts';

const echo: ChannelDefinition = { join: () => ok(), handleIn: (_event, payload) => ok(payload) };
const fastRetry = { reconnect: () => 10, channel: { rejoin: () => 10 } };

test('frames the server received are recorded and awaited, and push/broadcast reach the client', async (t) => {
  const server = await createTestServer({ channels: { 'room:*': echo } }, t);
  const client = await connectTestClient(server, {}, t);
  const room = await client.join('room:1', { name: 'ada' });
  const join = await server.waitForFrame({ topic: 'room:1', event: 'phx_join' });
  assert.deepEqual(join.payload, { name: 'ada' });
  assert.deepEqual(await room.push('say', { text: 'hi' }), { status: 'ok', response: { text: 'hi' } });
  assert.deepEqual(server.received({ event: 'say' }).map((f) => f.payload), [{ text: 'hi' }]);
  const got: unknown[] = [];
  room.on('note', (p) => got.push(p));
  const [connectionId] = server.connectionIds();
  assert.equal(server.connections.get(connectionId)?.topics.has('room:1'), true);
  assert.equal(server.push('room:1', 'note', { n: 1 }), 1);
  server.broadcast('room:1', 'note', { n: 2 });
  await waitFor(() => got.length === 2, 'the pushed and the broadcast note');
  assert.deepEqual(got, [{ n: 1 }, { n: 2 }]);
});

test('closeConnection: one connection closed with the chosen code; the client sees it and reconnects', async (t) => {
  const server = await createTestServer({ channels: { 'room:*': echo } }, t);
  const a = await connectTestClient(server, fastRetry, t);
  const b = await connectTestClient(server, fastRetry, t);
  await waitFor(() => server.connections.size === 2, 'two connections');
  const [first] = server.connectionIds();
  server.closeConnection(first, 4100, 'kicked');
  await waitFor(() => a.transitions.some((x) => x.detail.code === 4100) && server.closed.length === 1, 'both sides to see 4100');
  assert.deepEqual(server.closed.map((c) => [c.id, c.code]), [[first, 4100]]);
  assert.match(a.transitions.find((x) => x.detail.code === 4100)!.detail.message, /kicked/);
  await a.waitForState('open');
  assert.deepEqual(a.states, ['connecting', 'open', 'reconnecting', 'connecting', 'open']);
  assert.deepEqual(b.states, ['connecting', 'open'], 'the neighbour felt nothing');
  assert.throws(() => server.closeConnection('nope', 4100), /no open connection nope/);
  assert.throws(() => server.closeConnection(server.connectionIds()[0], 1006), RangeError);
});

test('crashChannel: the client gets phx_error, terminate sees crash, and the channel rejoins', async (t) => {
  const ends: string[] = [];
  const server = await createTestServer({ channels: { 'room:*': { ...echo, terminate: (reason) => void ends.push(reason) } } }, t);
  const client = await connectTestClient(server, fastRetry, t);
  const room = await client.join('room:1');
  const states: string[] = [];
  room.onLifecycle('state', (s) => states.push(`${s.to}:${s.reason}`));
  assert.equal(server.crashChannel('room:1'), 1);
  await waitFor(() => room.state === 'joined' && states.length >= 3, 'the rejoin after the crash');
  assert.deepEqual(states, ['errored:server_error', 'joining:join', 'joined:joined']);
  assert.deepEqual(ends, ['crash']);
  assert.match(server.errors[0].error.message, /crashed by the test/);
});

test('refuseJoins and refuseConnects refuse exactly the next N', async (t) => {
  const server = await createTestServer({ channels: { 'room:*': echo } }, t);
  // A refusal is a 403: the client asks its token provider once more, so one refusal is survived ...
  server.refuseConnects(1);
  const client = await connectTestClient(server, fastRetry, t);
  assert.deepEqual(
    client.transitions.filter((x) => x.to === 'reconnecting').map((x) => x.reason),
    ['auth_rejected'],
  );
  // ... and two in a row end in failed/auth instead of endless retries.
  server.refuseConnects(2);
  const refused = await connectTestClient(server, { ...fastRetry, awaitOpen: false }, t);
  await waitFor(() => refused.state === 'failed', 'the twice-refused client to fail');
  assert.equal(refused.transitions.at(-1)?.reason, 'auth');
  server.refuseJoins(1, { reason: 'full' });
  await assert.rejects(client.join('room:1'), /full/);
  await client.join('room:2');
  assert.equal(server.received({ event: 'phx_join' }).length, 2);
});

test('on a virtual clock the server times out an idle connection only when the test advances time', async (t) => {
  const clock = new VirtualClock();
  const server = await createTestServer({ channels: { 'room:*': echo }, clock, idleTimeoutMs: 60_000, sweepIntervalMs: 1000 }, t);
  const client = await connectTestClient(server, { reconnect: () => null }, t);
  clock.advance(59_000);
  assert.equal(server.connections.size, 1);
  clock.advance(1_000);
  await waitFor(() => client.state === 'failed' && server.closed.length === 1, 'both sides to see the idle timeout');
  assert.equal(server.closed[0].code, 4000);
  assert.equal(client.transitions.find((x) => x.to === 'failed')?.detail.code, 4000);
});

test('waitFor fails clearly: what was awaited and the last changes seen', async () => {
  await assert.rejects(waitFor(() => false, { timeoutMs: 30, what: 'something that never happens' }), (err: Error) => {
    assert.ok(err instanceof WaitTimeoutError);
    assert.match(err.message, /^timed out after 30 ms waiting for something that never happens; last changes seen: /);
    return true;
  });
  assert.equal(await waitFor(() => 42), 42, 'an immediate truthy value resolves at once');
});

test('the frame record is bounded: the oldest frames are dropped and counted', async (t) => {
  const server = await createTestServer({ channels: { 'room:*': echo }, maxRecordedFrames: 2 }, t);
  const client = await connectTestClient(server, {}, t);
  const room = await client.join('room:1');
  for (const n of [1, 2, 3]) await room.push('say', { n });
  assert.deepEqual(server.frames.map((r) => r.frame.payload), [{ n: 2 }, { n: 3 }]);
  assert.equal(server.droppedFrames, 2, 'the join and the first push');
});

test('a half-open link leaves the server side open until the server\'s idle timeout cuts it (virtual time)', async (t) => {
  const clock = new VirtualClock();
  const server = await createTestServer({ channels: { 'room:*': echo }, clock, idleTimeoutMs: 30_000, closeGraceMs: 1000 }, t);
  const link = await createFaultyLink({ target: server.port }, t);
  const client = await connectTestClient(link, { reconnect: () => null }, t);
  link.set('half-open');
  await waitFor(() => client.state === 'failed', 'the client to see its FIN');
  assert.equal(server.connections.size, 1, 'the server still believes in the client');
  clock.advance(30_000);
  assert.equal(server.connections.size, 1, 'closing: its 4000 goes unread');
  clock.advance(1_000);
  await waitFor(() => server.connections.size === 0, 'the close grace to cut the socket');
  assert.deepEqual(server.closed.map((c) => c.code), [4000]);
});
