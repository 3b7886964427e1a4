/** `tether serve` as a real process: flags through `npm start`, token auth, the demo channel, SIGTERM drain. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RawClient, upgradeStatus } from '../helpers/server-fixtures.ts';
import { runServer as run } from '../helpers/serve-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('npm start passes flags through; --token guards connections; the demo room works; SIGTERM drains with 1012', async () => {
  const srv = await run('npm', ['start', '--', '--port', '0', '--token', 's3cret']);
  assert.match(srv.wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/socket$/);
  assert.equal(await upgradeStatus(`${srv.wsUrl}/websocket?vsn=2.0.0`), 403);
  assert.equal(await upgradeStatus(`${srv.wsUrl}/websocket?vsn=2.0.0&token=wrong`), 403);
  const token = `base64url.bearer.phx.${Buffer.from('s3cret').toString('base64url')}`;
  assert.equal(await upgradeStatus(`${srv.wsUrl}/websocket?vsn=2.0.0`, { protocols: ['phoenix', token] }), 101);
  const c = await RawClient.connect(`${srv.wsUrl}/websocket?vsn=2.0.0&token=s3cret&user=ann`);
  c.send(['1', '1', 'room:lobby', 'phx_join', {}]);
  assert.deepEqual(await c.json(), ['1', '1', 'room:lobby', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
  const state = (await c.json()) as unknown[];
  assert.equal(state[3], 'presence_state');
  assert.ok('ann' in (state[4] as object));
  const res = await fetch(srv.httpUrl);
  assert.equal(res.status, 200);
  await res.text();
  // The whole group gets the signal, as from a terminal or a process manager (npm does not forward it).
  process.kill(-srv.child.pid!, 'SIGTERM');
  assert.deepEqual(await c.closed, { code: 1012, reason: 'server restart' });
  await srv.exited;
  assert.match(srv.output(), /SIGTERM: draining 1 connection/);
});

test('PORT from the environment, no token needed without --token; SIGINT drains and exits 0', async () => {
  const srv = await run(process.execPath, ['src/cli/main.ts', 'serve'], { PORT: '0' });
  const c = await RawClient.connect(`${srv.wsUrl}/websocket?vsn=2.0.0`);
  c.send([null, '1', 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(await c.json(), [null, '1', 'phoenix', 'phx_reply', { response: {}, status: 'ok' }]);
  process.kill(-srv.child.pid!, 'SIGINT');
  assert.deepEqual(await c.closed, { code: 1012, reason: 'server restart' });
  assert.equal(await srv.exited, 0, 'drained, then exit 0');
});

test('the demo rooms keep a history: an opted-in client recovers missed shouts, stock clients get plain Phoenix frames', async () => {
  const srv = await run(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0']);
  const endpoint = `${srv.wsUrl}/websocket`;
  const stock = await RawClient.connect(`${endpoint}?vsn=2.0.0`);
  const v1 = await RawClient.connect(`${endpoint}?vsn=1.0.0`);
  const tether = await RawClient.connect(`${endpoint}?vsn=2.0.0&tether=1`);
  for (const c of [stock, tether]) {
    c.send(['1', '1', 'room:h', 'phx_join', {}]);
    assert.deepEqual(((await c.json()) as unknown[]).slice(0, 5), ['1', '1', 'room:h', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
    await c.json(); // presence_state
  }
  v1.send(JSON.stringify({ topic: 'room:h', event: 'phx_join', payload: {}, ref: '1', join_ref: '1' }));
  await v1.json();
  await v1.json();
  stock.send(['1', '2', 'room:h', 'shout', { n: 1 }]);
  assert.equal(await stock.next(), '[null,null,"room:h","shout",{"n":1}]', 'byte-exact Phoenix broadcast');
  assert.equal(await v1.next(), '{"event":"shout","payload":{"n":1},"ref":null,"topic":"room:h"}');
  const positioned = (await tether.json()) as [null, null, string, string, object, { o: number; e: string }];
  assert.deepEqual(positioned.slice(0, 5), [null, null, 'room:h', 'shout', { n: 1 }]);
  const { o, e } = positioned[5];
  tether.close();
  for (const n of [2, 3]) stock.send(['1', String(n + 1), 'room:h', 'shout', { n }]);
  for (const n of [2, 3]) assert.deepEqual(await stock.json(), [null, null, 'room:h', 'shout', { n }]);
  const back = await RawClient.connect(`${endpoint}?vsn=2.0.0&tether=1`);
  back.send(['5', '5', 'room:h', 'phx_join', {}, { since: { o, e } }]);
  const reply = (await back.json()) as unknown[];
  assert.deepEqual(reply[5], { recovered: true, o: o + 2, e });
  const replayed = [await back.json(), await back.json()].map((f) => (f as unknown[]).slice(3));
  assert.deepEqual(replayed, [['shout', { n: 2 }, { o: o + 1, e }], ['shout', { n: 3 }, { o: o + 2, e }]]);
  process.kill(-srv.child.pid!, 'SIGTERM');
  await srv.exited;
});

test('a bad flag is a clear error, not a crash', async () => {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--port', 'abc'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 2, err);
  assert.match(err, /flags: --port: expected a number \(got "abc"\)/);
});

test('--redis with --redis-cluster is a usage error naming both (exit 2), before any connection is tried', async () => {
  const args = ['src/cli/main.ts', 'serve', '--redis', 'redis://127.0.0.1:1', '--redis-cluster', 'redis://127.0.0.1:2'];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 2, err);
  assert.match(err, /--redis \(flag\) and --redis-cluster \(flag\) are both set/);
});

test('PORT=abc npm start prints the configuration error and exits 2 (no crash while options are declared)', async () => {
  const { PORT: _port, REDIS_URL: _redis, ...inherited } = process.env;
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env: { ...inherited, PORT: 'abc' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 2, err);
  assert.match(err, /^tether serve: Invalid configuration:\n {2}environment: PORT: expected a number \(got "abc"\)\nRun "tether serve --help" for every flag\.\n$/m);
  assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
});
