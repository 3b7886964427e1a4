/** `tether serve` with the task flags, as a real process: JWT users, POST /api/publish, and --tasks without Redis. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { Socket } from '../../src/client/socket.ts';
import { watchUser } from '../../src/tasks/client.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startServe } from '../helpers/serve-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const secret = 's'.repeat(40);

test('--tasks without any Redis says so and exits 2', async () => {
  const { REDIS_URL: _redis, ...inherited } = process.env;
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0', '--tasks', 'emails'], { cwd: root, env: inherited, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 2, err);
  assert.match(err, /tasks: the BullMQ bridge needs Redis/);
});

test('serve --jwt-secret --publish-token: a worker publishes over HTTP to one signed-in user, answered with the count reached', async () => {
  const running = await startServe(['--jwt-secret', secret, '--publish-token', 'pub', '--publish-max-bytes', '2048']);
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('ann').setExpirationTime('5m').sign(new TextEncoder().encode(secret));
  const socket = new Socket(running.wsUrl, { params: { token }, page: false });
  socket.connect();
  try {
    const channel = watchUser(socket, 'ann');
    const got: string[] = [];
    channel.on('user_notification', (n) => got.push(n.message));
    await pollUntil(() => channel.state === 'joined', 'joined user:ann');
    const post = (body: string, auth = 'Bearer pub') => fetch(`${running.httpUrl}/api/publish`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body });
    const event = { type: 'user_notification', user_id: 'ann', notification: { level: 'success', title: 'Export', message: 'ready', timestamp: 1 } };
    const ok = await post(JSON.stringify(event));
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { reached: number }).reached, 1);
    await pollUntil(() => got.length === 1, 'the notification');
    assert.deepEqual(got, ['ready']);
    assert.equal((await post(JSON.stringify(event), 'Bearer wrong')).status, 401);
    assert.equal((await post(JSON.stringify({ ...event, user_id: 'has space' }))).status, 400);
    assert.equal((await post(JSON.stringify({ ...event, pad: 'x'.repeat(4096) }))).status, 413);
  } finally {
    await socket.disconnect();
  }
});
