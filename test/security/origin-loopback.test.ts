/**
 * The default origin policy, probed as a browser page would: on a loopback bind only loopback pages (any port)
 * get in, and only when the Host header is a loopback name too (DNS rebinding); beyond loopback the Origin's
 * host must be the Host header's. Requests without an Origin (CLI, local tools) always get in.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { test, type TestContext } from 'node:test';
import { ok, type ServerOptions } from '../../src/server/index.ts';
import { startServer, upgradeStatus, type Started } from '../helpers/server-fixtures.ts';

async function start(t: TestContext, options: Partial<ServerOptions> = {}): Promise<Started> {
  const s = await startServer({ channels: { 'room:*': { join: () => ok() } }, ...options });
  t.after(() => s.server.close());
  return s;
}

test('loopback bind: a foreign Origin gets 403; loopback pages on any port get in; no Origin gets in', async (t) => {
  const s = await start(t);
  const status = (headers: Record<string, string>) => upgradeStatus(s.endpoint(), { headers });
  assert.equal(await status({ origin: 'https://evil.example' }), 403);
  assert.equal(await status({ origin: 'null' }), 403, 'an opaque origin (sandboxed frame, file:) is not a loopback page');
  assert.equal(await status({ origin: 'http://localhost.evil.example' }), 403);
  for (const origin of ['http://localhost:5173', 'http://127.0.0.1:9', 'http://[::1]:3000', `http://127.0.0.1:${s.port}`, 'https://localhost']) {
    assert.equal(await status({ origin }), 101, origin);
  }
  assert.equal(await upgradeStatus(s.endpoint()), 101, 'no Origin: a CLI or a local tool');
});

test('loopback bind: DNS rebinding (Origin and Host both evil.example:PORT) gets 403; a loopback Origin with a foreign Host too', async (t) => {
  const s = await start(t);
  const rebinding = { origin: `http://evil.example:${s.port}`, host: `evil.example:${s.port}` };
  assert.equal(await upgradeStatus(s.endpoint(), { headers: rebinding }), 403);
  assert.equal(await upgradeStatus(s.endpoint(), { headers: { origin: `http://localhost:${s.port}`, host: `evil.example:${s.port}` } }), 403);
  assert.equal(await upgradeStatus(s.endpoint(), { headers: { origin: `http://localhost:${s.port}`, host: `localhost:${s.port}` } }), 101);
});

test('loopback bind: a rebinding name that only looks like a loopback address (127.0.0.1.evil.example) gets 403', async (t) => {
  const s = await start(t);
  for (const name of ['127.0.0.1.evil.example', '127.evil.example', '127.0.0.1.nip.io']) {
    const headers = { origin: `http://${name}:${s.port}`, host: `${name}:${s.port}` };
    assert.equal(await upgradeStatus(s.endpoint(), { headers }), 403, name);
  }
  const other = { origin: 'http://127.0.0.2:5173', host: `127.0.0.2:${s.port}` };
  assert.equal(await upgradeStatus(s.endpoint(), { headers: other }), 101, 'any address of 127.0.0.0/8 is loopback');
});

test('beyond loopback (an attached HTTP server): the Origin host must be the Host header host, as before', async (t) => {
  const http = createHttpServer();
  const s = await start(t, { httpServer: http });
  t.after(() => http.close());
  assert.equal(await upgradeStatus(s.endpoint(), { headers: { origin: 'http://localhost:5173' } }), 403, 'Host is 127.0.0.1, not localhost');
  assert.equal(await upgradeStatus(s.endpoint(), { headers: { origin: 'http://127.0.0.1:5173' } }), 101);
  assert.equal(await upgradeStatus(s.endpoint(), { headers: { origin: 'https://evil.example' } }), 403);
  assert.equal(await upgradeStatus(s.endpoint()), 101);
});

test('a configured allowedOrigins list is the rule on loopback too; false turns the check off', async (t) => {
  const listed = await start(t, { allowedOrigins: ['https://app.example'] });
  assert.equal(await upgradeStatus(listed.endpoint(), { headers: { origin: 'https://app.example' } }), 101);
  assert.equal(await upgradeStatus(listed.endpoint(), { headers: { origin: 'http://localhost:5173' } }), 403);
  const off = await start(t, { allowedOrigins: false });
  assert.equal(await upgradeStatus(off.endpoint(), { headers: { origin: 'https://evil.example' } }), 101);
});
