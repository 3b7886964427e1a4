/** Operations attached to a real server on loopback: metrics from real traffic, health and readiness, routes. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { Socket } from '../../src/client/socket.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { dashboardAccess, prepareOperations, type Operations } from '../../src/ops/operations.ts';
import { DEFAULTS } from '../../src/ops/config.ts';
import { createServer, type TetherServer } from '../../src/server/server.ts';
import { sample } from './prom-text.ts';

let ops: Operations;
let server: TetherServer;
let broker: MemoryBroker;
let url: string;
let httpUrl: string;

before(async () => {
  ops = await prepareOperations({ flags: { port: 0, logLevel: 'silent' }, env: {}, cwd: '/' });
  broker = new MemoryBroker();
  server = createServer({ ...ops.serverOptions, broker, channels: { 'room:*': roomChannel, ...ops.channels } });
  ops.attach(server);
  ({ url, httpUrl } = await server.listen());
});

after(async () => {
  ops.detach();
  await server.close();
  await broker.close();
});

test('metrics count real connections, joins, messages, replies, broadcasts and closes', async (t) => {
  const socket = new Socket(url, { params: { user: 'ada' } });
  t.after(() => socket.disconnect());
  socket.connect();
  const lobby = socket.channel('room:lobby');
  assert.equal((await lobby.join()).status, 'ok');
  assert.equal((await socket.channel('room:private').join()).status, 'error');
  assert.equal((await lobby.push('echo', { x: 1 })).status, 'ok');
  assert.equal((await lobby.push('fail', {})).status, 'error');
  const shouted = new Promise((resolve) => lobby.on('shout', resolve));
  lobby.push('shout', { hi: true });
  await shouted;

  let text = await (await fetch(`${httpUrl}/metrics`)).text();
  assert.equal(sample(text, 'tether_connections'), 1);
  assert.equal(sample(text, 'tether_joins_total{pattern="room:*"}'), 1);
  assert.equal(sample(text, 'tether_joins_rejected_total{pattern="room:*"}'), 1);
  // Joins are handled too: ok = lobby join + echo, error = private join + fail, noreply = shout.
  assert.equal(sample(text, 'tether_replies_total{status="ok"}'), 2);
  assert.equal(sample(text, 'tether_replies_total{status="error"}'), 2);
  assert.equal(sample(text, 'tether_replies_total{status="noreply"}'), 1);
  // The presence_diff after ada's join and the shout.
  assert.equal(sample(text, 'tether_broadcasts_total'), 2);
  assert.equal(sample(text, 'tether_broadcast_deliveries_total'), 2);
  assert.equal(sample(text, 'tether_broker_publish_duration_seconds_count'), 1);
  assert.equal(sample(text, 'tether_messages_in_total'), 5);
  assert.ok((sample(text, 'tether_bytes_out_total') ?? 0) > 0);
  assert.equal(sample(text, 'tether_handler_duration_seconds_count{pattern="room:*"}'), 5);
  assert.equal(sample(text, 'tether_topics'), 1);

  await socket.disconnect();
  for (let i = 0; i < 50 && sample(text, 'tether_connections') !== 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    text = await (await fetch(`${httpUrl}/metrics`)).text();
  }
  assert.equal(sample(text, 'tether_connections'), 0);
  assert.equal(sample(text, 'tether_connections_closed_total{code="1000"}'), 1);
});

test('healthz is always ok; readyz follows the broker', async () => {
  const health = await fetch(`${httpUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const ready = await fetch(`${httpUrl}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true, broker: true, draining: false });
  await broker.close();
  const notReady = await fetch(`${httpUrl}/readyz`);
  assert.equal(notReady.status, 503);
  assert.deepEqual(await notReady.json(), { ready: false, broker: false, draining: false });
  await broker.start();
  const readyAgain = await fetch(`${httpUrl}/readyz`);
  assert.equal(readyAgain.status, 200, 'checked again on each request, not latched');
});

test('routes the ops layer does not own still reach the server; HEAD works', async () => {
  const other = await fetch(`${httpUrl}/elsewhere`);
  assert.equal(other.status, 404);
  const head = await fetch(`${httpUrl}/healthz`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('readiness follows server.draining, however close() was reached', async () => {
  const local = await prepareOperations({ flags: { port: 0, logLevel: 'silent', dashboard: false }, env: {}, cwd: '/' });
  const s = createServer({ ...local.serverOptions, channels: { ...local.channels, 'room:*': roomChannel } });
  // Taken before attach, as an app that wires its own shutdown first would.
  const close = s.close.bind(s);
  local.attach(s);
  const info = await s.listen();
  assert.equal(s.draining, false);
  assert.equal(local.readiness().ready, true);
  assert.equal((await fetch(info.httpUrl)).status, 200, 'with the dashboard off, / is the server\'s own answer');
  const closing = close();
  assert.equal(s.draining, true);
  assert.deepEqual(local.readiness(), { ready: false, broker: true, draining: true });
  await closing;
  assert.equal(s.draining, true, 'stays draining once closed');
  local.detach();
});

test('describe() gives the startup banner lines', () => {
  const lines = ops.describe('http://127.0.0.1:4000');
  assert.deepEqual(lines.map((l) => l.trim().split(/\s+/)[0]), ['dashboard', 'metrics', 'health', 'config']);
  assert.match(lines[0], /http:\/\/127\.0\.0\.1:4000\/ +\(open on loopback\)/);
  assert.match(lines[3], /preset standard, no config file, log level silent/);
});

test('dashboard access: open on loopback, token-guarded with a token, off beyond localhost without one', () => {
  assert.deepEqual(dashboardAccess(DEFAULTS), { open: true });
  assert.deepEqual(dashboardAccess({ ...DEFAULTS, adminToken: 'x' }), { open: false, token: 'x' });
  assert.deepEqual(dashboardAccess({ ...DEFAULTS, host: '0.0.0.0', adminToken: 'x' }), { open: false, token: 'x' });
  assert.equal(dashboardAccess({ ...DEFAULTS, host: '0.0.0.0' }), null);
  assert.equal(dashboardAccess({ ...DEFAULTS, dashboard: false }), null);
});

