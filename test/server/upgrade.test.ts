/** Admission before the upgrade: vsn, origin, connect hook (params and authToken), capacity, path. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import type { ConnectInfo } from '../../src/server/options.ts';
import { OriginPolicy, readProtocols } from '../../src/server/upgrade.ts';
import { RawClient, startServer, upgradeStatus } from '../helpers/server-fixtures.ts';

const room: ChannelDefinition = { join: (_t, _p, socket) => ok({ user: socket.assigns.user as string }) };

test('vsn picks the serializer; anything but ~> 1.0.0 / ~> 2.0.0 is HTTP 403', async () => {
  const s = await startServer();
  const rejected: number[] = [];
  s.server.observe({ connectionRejected: (i) => rejected.push(i.status) });
  for (const vsn of ['1.0.0', '2.0.0', '2.0.7']) assert.equal(await upgradeStatus(s.endpoint({ vsn })), 101, vsn);
  for (const vsn of ['3.0.0', '2.1.0', 'banana', '']) assert.equal(await upgradeStatus(s.endpoint({ vsn })), 403, vsn);
  assert.deepEqual(rejected, [403, 403, 403, 403]);
  await s.server.close();
});

test('upgrades for another path get 404 when the server owns the HTTP server', async () => {
  const s = await startServer();
  assert.equal(await upgradeStatus(`${s.url}/elsewhere?vsn=2.0.0`), 404);
  await s.server.close();
});

test('connect hook: params, headers and assigns; false is 403; a throwing hook is 500', async () => {
  const seen: ConnectInfo[] = [];
  const s = await startServer({
    channels: { 'room:*': room },
    connect: (info) => {
      seen.push(info);
      if (info.params.boom) throw new Error('hook bug');
      return info.params.token === 'good' ? { assigns: { user: info.params.user } } : false;
    },
  });
  assert.equal(await upgradeStatus(s.endpoint({ token: 'bad' })), 403);
  assert.equal(await upgradeStatus(s.endpoint({ boom: '1' })), 500);
  const c = await RawClient.connect(s.endpoint({ token: 'good', user: 'ann' }), undefined, { 'x-app': 'yes' });
  c.send(['1', '1', 'room:1', 'phx_join', {}]);
  assert.deepEqual(await c.json(), ['1', '1', 'room:1', 'phx_reply', { response: { user: 'ann' }, status: 'ok' }]);
  const last = seen.at(-1)!;
  assert.equal(last.params.vsn, '2.0.0');
  assert.equal(last.headers['x-app'], 'yes');
  assert.equal(last.authToken, null);
  c.close();
  await s.server.close();
});

test('Phoenix authToken subprotocol: the token reaches the hook and "phoenix" is echoed', async () => {
  const tokens: (string | null)[] = [];
  const s = await startServer({ connect: ({ authToken }) => (tokens.push(authToken), authToken === 's3cret+/x') });
  const encoded = Buffer.from('s3cret+/x').toString('base64').replace(/=+$/, '');
  assert.deepEqual(readProtocols(`phoenix, base64url.bearer.phx.${encoded}`), { authToken: 's3cret+/x', echo: 'phoenix' });
  const good = `base64url.bearer.phx.${Buffer.from('s3cret+/x').toString('base64url')}`;
  const c = await RawClient.connect(s.endpoint(), ['phoenix', good]);
  assert.equal(c.ws.protocol, 'phoenix');
  c.close();
  assert.equal(await upgradeStatus(s.endpoint(), { protocols: ['phoenix', `base64url.bearer.phx.${Buffer.from('nope').toString('base64url')}`] }), 403);
  assert.deepEqual(tokens, ['s3cret+/x', 'nope']);
  await s.server.close();
});

test('origin policy: lists with wildcards, scheme and port; a missing Origin is allowed', () => {
  const p = new OriginPolicy(['https://app.example.com', '*.example.org', '//localhost:5173']);
  assert.ok(p.allows(undefined, 'x'));
  assert.ok(p.allows('https://app.example.com', 'x'));
  assert.ok(!p.allows('http://app.example.com', 'x'));
  assert.ok(p.allows('https://a.example.org', 'x'));
  assert.ok(p.allows('http://deep.a.example.org', 'x'));
  assert.ok(!p.allows('https://example.org', 'x'), 'a wildcard matches subdomains only');
  assert.ok(!p.allows('https://evilexample.org', 'x'));
  assert.ok(p.allows('http://localhost:5173', 'x'));
  assert.ok(!p.allows('http://localhost:5174', 'x'));
  assert.ok(!p.allows('not a url', 'x'));
  const same = new OriginPolicy(null);
  assert.ok(same.allows('https://chat.example.com', 'chat.example.com:443'));
  assert.ok(!same.allows('https://evil.com', 'chat.example.com'));
  assert.ok(OriginPolicy.off().allows('https://anything', undefined));
});

test('origin check over the wire: 403 for a foreign Origin; loopback origins only by default on loopback', async () => {
  const checked = await startServer({ allowedOrigins: ['https://good.example'] });
  assert.equal(await upgradeStatus(checked.endpoint(), { headers: { origin: 'https://evil.example' } }), 403);
  assert.equal(await upgradeStatus(checked.endpoint(), { headers: { origin: 'https://good.example' } }), 101);
  assert.equal(await upgradeStatus(checked.endpoint()), 101);
  await checked.server.close();
  const dev = await startServer();
  assert.equal(await upgradeStatus(dev.endpoint(), { headers: { origin: 'https://evil.example' } }), 403);
  assert.equal(await upgradeStatus(dev.endpoint(), { headers: { origin: 'http://localhost:5173' } }), 101);
  await dev.server.close();
});

test('maxConnections: the next upgrade gets 503 before upgrading, and a slot frees when one closes', async () => {
  const s = await startServer({ maxConnections: 2 });
  const a = await RawClient.connect(s.endpoint());
  const b = await RawClient.connect(s.endpoint());
  assert.equal(await upgradeStatus(s.endpoint()), 503);
  a.close();
  await a.closed;
  for (let i = 0; i < 50 && s.server.connectionCount > 1; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await upgradeStatus(s.endpoint()), 101);
  b.close();
  await s.server.close();
});

test('httpServer: attaches to an existing server, leaves other paths to it, and does not close it', async () => {
  const { createServer: createHttpServer } = await import('node:http');
  const { createServer } = await import('../../src/server/index.ts');
  const http = createHttpServer((_req, res) => res.end('app'));
  http.on('upgrade', (req, socket) => {
    if (req.url?.startsWith('/other')) socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const server = createServer({ httpServer: http, channels: { 'room:*': room }, mount: '/live' });
  const { url, port } = await server.listen();
  assert.equal(port, (http.address() as { port: number }).port);
  assert.equal(url, `ws://127.0.0.1:${port}/live`);
  assert.equal(await upgradeStatus(`${url}/websocket?vsn=2.0.0`), 101);
  assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/other`), 418);
  assert.equal(await upgradeStatus(`${url}/websocket?vsn=2.0.0`, { headers: { origin: 'https://elsewhere.example' } }), 403, 'attached: same-host origin rule by default');
  await server.close();
  assert.equal(http.listening, true);
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'app');
  await new Promise((resolve) => http.close(resolve));
});
