/**
 * The admin channel and /metrics as a page of another origin would try them: `tether:admin` needs the admin
 * token, or (on an open loopback server) a same-origin page or a non-browser client; `metricsToken` guards
 * /metrics with a bearer token.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { prepareOperations } from '../../src/ops/operations.ts';
import { createServer, type ListenInfo } from '../../src/server/server.ts';
import { RawClient } from '../helpers/server-fixtures.ts';

async function serve(t: TestContext, flags: Record<string, unknown>): Promise<ListenInfo> {
  const ops = await prepareOperations({ flags: { port: 0, logLevel: 'silent', ...flags }, env: {}, cwd: '/' });
  const server = createServer({ ...ops.serverOptions, channels: { 'room:*': roomChannel, ...ops.channels } });
  ops.attach(server);
  t.after(async () => {
    ops.detach();
    await server.close();
  });
  return server.listen();
}

/** The admin join's reply status, from a socket whose upgrade carried `origin` (or none). */
async function adminJoin(t: TestContext, info: ListenInfo, origin: string | undefined, params: object = {}): Promise<string> {
  const c = await RawClient.connect(`${info.url}/websocket?vsn=2.0.0`, undefined, origin === undefined ? {} : { origin });
  t.after(() => c.close());
  c.send(['1', '1', 'tether:admin', 'phx_join', params]);
  const reply = (await c.json()) as [string, string, string, string, { status: string }];
  return reply[4].status;
}

test('open loopback dashboard: a page of another loopback origin opens a socket but cannot join tether:admin', async (t) => {
  const info = await serve(t, {});
  assert.equal(await adminJoin(t, info, 'http://localhost:5173'), 'error');
  assert.equal(await adminJoin(t, info, `http://127.0.0.1:${info.port}`), 'ok', 'the dashboard page this server served');
  assert.equal(await adminJoin(t, info, undefined), 'ok', 'a local tool without Origin');
});

test('with an admin token, even a same-origin page needs it', async (t) => {
  const info = await serve(t, { adminToken: 'adm1n' });
  assert.equal(await adminJoin(t, info, `http://127.0.0.1:${info.port}`), 'error');
  assert.equal(await adminJoin(t, info, undefined, { admin_token: 'wrong' }), 'error');
  assert.equal(await adminJoin(t, info, `http://127.0.0.1:${info.port}`, { admin_token: 'adm1n' }), 'ok');
});

test('metricsToken: /metrics answers 401 without the bearer token, 200 with it', async (t) => {
  const info = await serve(t, { metricsToken: 'scrape-me', dashboard: false });
  const plain = await fetch(`${info.httpUrl}/metrics`);
  assert.equal(plain.status, 401);
  assert.match(plain.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.equal((await fetch(`${info.httpUrl}/metrics`, { headers: { authorization: 'Bearer nope' } })).status, 401);
  const good = await fetch(`${info.httpUrl}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
  assert.equal(good.status, 200);
  assert.match(await good.text(), /tether_connections/);
  assert.equal((await fetch(`${info.httpUrl}/healthz`)).status, 200, 'health stays open');
});
