/** The faulty link on loopback: every mode against a raw TCP echo or sink, the byte cap, and schedules in virtual time. */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { createFaultyLink, notifyChange, VirtualClock, waitFor, type FaultyLinkOptions } from '../../src/testing/index.ts';

/** A server that records what each connection sent and how it ended; `echo` writes everything back. */
async function peer(t: TestContext, echo = true) {
  const sides: { socket: Socket; got: Buffer[]; ended: boolean; error: string | null }[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const side = { socket, got: [] as Buffer[], ended: false, error: null as string | null };
    sides.push(side);
    notifyChange();
    // Plain sockets are outside the kit: tell waitFor when they change.
    socket.on('data', () => notifyChange());
    socket.on('end', () => notifyChange());
    socket.on('error', () => notifyChange());
    socket.on('data', (d: Buffer) => {
      side.got.push(d);
      if (echo) socket.write(d);
    });
    socket.on('end', () => (side.ended = true));
    socket.on('error', (err: NodeJS.ErrnoException) => (side.error = err.code ?? err.message));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sides) s.socket.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as { port: number }).port, sides };
}

async function through(t: TestContext, options: Omit<FaultyLinkOptions, 'target'>, echo = true) {
  const server = await peer(t, echo);
  const link = await createFaultyLink({ target: server.port, ...options });
  t.after(() => link.close());
  const socket = connect({ port: link.port, host: '127.0.0.1', allowHalfOpen: true });
  const client = { socket, got: '', ended: false, error: null as string | null, closed: false };
  socket.on('data', (d: Buffer) => (client.got += d.toString()));
  socket.on('end', () => (client.ended = true));
  socket.on('error', (err: NodeJS.ErrnoException) => (client.error = err.code ?? err.message));
  socket.on('close', () => (client.closed = true));
  for (const event of ['data', 'end', 'error', 'close']) socket.on(event, () => notifyChange());
  t.after(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  await waitFor(() => server.sides.length === 1, 'the upstream connection');
  return { link, client, server };
}

test('blackhole holds bytes without FIN or RST, and heal delivers them in order', async (t) => {
  const { link, client, server } = await through(t, {});
  client.socket.write('a');
  await waitFor(() => client.got === 'a', 'the echo');
  link.set('blackhole');
  client.socket.write('b');
  client.socket.write('c');
  // Nothing crosses: the bytes are held in the link (2 bytes), not lost and not delivered.
  await waitFor(() => link.stats().heldBytes === 2, 'the bytes to be held');
  assert.equal(Buffer.concat(server.sides[0].got).toString(), 'a');
  assert.deepEqual([client.ended, client.error, server.sides[0].ended, server.sides[0].error], [false, null, false, null]);
  link.heal();
  await waitFor(() => client.got === 'abc', 'held bytes delivered after heal');
  assert.equal(link.stats().heldBytes, 0);
});

test('reset cuts both sides with an RST, and refuses new connections while it lasts', async (t) => {
  const { link, client, server } = await through(t, {});
  link.set('reset');
  await waitFor(() => client.error !== null && server.sides[0].error !== null, 'both sides to see the reset');
  assert.equal(client.error, 'ECONNRESET');
  assert.equal(server.sides[0].error, 'ECONNRESET');
  const again = connect({ port: link.port, host: '127.0.0.1' });
  const outcome = await new Promise<string>((resolve) => {
    again.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    again.on('end', () => resolve('end'));
  });
  assert.equal(outcome, 'ECONNRESET');
  assert.equal(server.sides.length, 1, 'no upstream connection for a reset arrival');
});

test('half-open: the client side gets a FIN, the server side stays open and unread until heal resets it', async (t) => {
  const { link, client, server } = await through(t, {});
  link.set('half-open');
  await waitFor(() => client.ended, 'the client to get a FIN');
  assert.equal(client.error, null, 'a FIN, not a reset');
  client.socket.end();
  const side = server.sides[0];
  assert.deepEqual([side.ended, side.error, side.socket.destroyed], [false, null, false], 'the server side stays open');
  assert.equal(link.connections, 1);
  link.heal();
  await waitFor(() => side.error !== null, 'the server side to be reset once the link heals');
  assert.equal(side.error, 'ECONNRESET');
  await waitFor(() => link.connections === 0, 'the connection forgotten');
});

test('latency and jitter on a virtual clock: bytes wait for the clock, in order', async (t) => {
  const clock = new VirtualClock();
  let r = 0;
  const { link, client } = await through(t, { clock, mode: 'latency=200ms~100ms', random: () => [0.9, 0, 0.5][r++ % 3] });
  assert.deepEqual(link.mode, { kind: 'ok', latencyMs: 200, jitterMs: 100 });
  client.socket.write('x');
  await waitFor(() => link.stats().heldBytes === 1, 'x held by the delay');
  clock.advance(289);
  assert.equal(link.stats().bytesUp, 0, 'not before 200 + 90 ms');
  clock.advance(1);
  await waitFor(() => link.stats().bytesUp === 1, 'x released at 290 ms');
  // The echo comes back with its own delay (200 + 0 ms).
  await waitFor(() => link.stats().heldBytes === 1, 'the echo held by the delay');
  clock.advance(199);
  assert.equal(client.got, '');
  clock.advance(1);
  await waitFor(() => client.got === 'x', 'the delayed echo');
});

test('a bandwidth cap releases bytes at its rate', async (t) => {
  const clock = new VirtualClock();
  const { link, client, server } = await through(t, { clock, mode: 'bandwidth=20KiB/s' }, false);
  client.socket.write(Buffer.alloc(100 * 1024, 1));
  await waitFor(() => link.stats().heldBytes === 100 * 1024, 'the burst queued');
  clock.advance(1999);
  await waitFor(() => link.stats().bytesUp === 39 * 1024, '39 KiB after 1.999 s at 20 KiB/s (1 KiB every 50 ms)');
  clock.advance(1);
  await waitFor(() => link.stats().bytesUp === 40 * 1024, '40 KiB at 2 s');
  clock.advance(3000);
  await waitFor(() => Buffer.concat(server.sides[0].got).length === 100 * 1024, 'all of it after 5 s');
});

test('a black-holed direction holds at most maxHeldBytes (plus one read), then stops reading the sender', async (t) => {
  const maxHeldBytes = 64 * 1024;
  const { link, client, server } = await through(t, { maxHeldBytes }, false);
  const capped: number[] = [];
  link.on('capped', (e) => capped.push(e.bytes));
  link.set('blackhole');
  const total = 8 * 1024 * 1024;
  const payload = Buffer.alloc(total, 7);
  client.socket.write(payload);
  await waitFor(() => capped.length === 1, 'the cap to be reached');
  // The sender keeps the rest in its own buffers, as over a real dead link.
  assert.ok(link.stats().heldBytes <= maxHeldBytes + 65536, `held ${link.stats().heldBytes}`);
  assert.ok(client.socket.writableLength > 0, 'the sender buffers');
  link.heal();
  await waitFor(() => server.sides[0].got.reduce((n, b) => n + b.length, 0) === total, 'every byte after heal', );
  assert.ok(Buffer.concat(server.sides[0].got).equals(payload), 'intact and in order');
});

test('a schedule runs on the link clock and its last mode stays', async (t) => {
  const clock = new VirtualClock();
  const { link } = await through(t, { clock, script: '1s ok; 2s blackhole; 500ms latency=50ms; heal' });
  const modes: string[] = [];
  link.on('mode', (e) => modes.push(`${e.step}:${e.mode.kind}`));
  assert.equal(link.mode.kind, 'ok');
  clock.advance(999);
  assert.equal(link.mode.kind, 'ok');
  clock.advance(1);
  assert.equal(link.mode.kind, 'blackhole');
  clock.advance(2000);
  assert.deepEqual(link.mode, { kind: 'ok', latencyMs: 50 });
  assert.equal(link.scheduleRunning, true);
  clock.advance(500);
  assert.deepEqual(link.mode, { kind: 'ok' });
  assert.equal(link.scheduleRunning, false);
  assert.deepEqual(modes, ['1:blackhole', '2:ok', '3:ok']);
  link.run('1s reset; blackhole');
  link.set('ok');
  clock.advance(5000);
  assert.deepEqual(link.mode, { kind: 'ok' }, 'set() stops a running schedule');
  assert.equal(clock.pendingTimers, 0);
});

test('beyond maxConnections a new connection gets an RST and the link says why', async (t) => {
  const { link } = await through(t, { maxConnections: 1 });
  const refused: string[] = [];
  link.on('refused', (e) => refused.push(e.reason));
  const extra = connect({ port: link.port, host: '127.0.0.1' });
  const outcome = await new Promise<string>((resolve) => extra.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error')));
  assert.equal(outcome, 'ECONNRESET');
  assert.deepEqual(refused, ['maxConnections (1) reached']);
  assert.equal(link.connections, 1);
});
