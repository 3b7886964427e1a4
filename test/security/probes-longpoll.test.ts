/**
 * The long-poll endpoint against hostile peers: forged tokens, malformed and oversized bodies, slow bodies,
 * cross-origin pages and a flood of first GETs. Each gets a clear answer, and nothing ends the process.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { LongPollPeer } from '../helpers/longpoll.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startServer } from '../helpers/server-fixtures.ts';

async function setup(options: Parameters<typeof startServer>[0] = {}) {
  const s = await startServer({ channels: { 'room:*': roomChannel }, ...options });
  const codes: number[] = [];
  s.server.observe({ connectionClosed: (i) => codes.push(i.code) });
  const { httpUrl } = await s.server.listen();
  return { s, codes, httpUrl, peer: new LongPollPeer(httpUrl) };
}

test('forged, tampered, empty and huge tokens name no session: 410, and a GET with one in the header opens none', async () => {
  const { s, peer } = await setup();
  const token = await peer.open();
  const [payload, mac] = token.split('.');
  const otherNode = Buffer.from(`${Buffer.from(payload!, 'base64url').toString().split('.')[0]}.other-node`).toString('base64url');
  const forged = [`${payload}.${'A'.repeat(43)}`, `${otherNode}.${mac}`, '', '.', 'a.b.c', 'x'.repeat(4000), `${payload}.`, '__proto__'];
  for (const bad of forged) {
    assert.equal((await peer.post({ token: bad }, '[null,"1","phoenix","heartbeat",{}]')).body, '{"status":410}', bad.slice(0, 20));
    assert.equal((await peer.get({}, { 'x-phoenix-longpoll-token': bad || 'x' })).body, '{"status":410}');
  }
  assert.equal(s.server.connectionCount, 1);
  await s.server.close();
});

test('malformed bodies: a bad JSON line closes the session 1007, bad base64 answers 400 (1007), too many frames 413 (1009)', async () => {
  const { s, codes, peer } = await setup({ longPollMaxFramesPerPost: 3 });
  for (const [body, answer, code] of [
    ['[not json', '{"status":410}', 1007],
    ['not base64!', '{"status":400}', 1007],
    ['[null,"1","phoenix","heartbeat",{}]\n'.repeat(4), '{"status":413}', 1009],
  ] as const) {
    const token = await peer.open();
    assert.equal((await peer.post({ token }, body)).body, answer, body);
    await pollUntil(() => codes.at(-1) === code, `close ${code}`);
    assert.equal((await peer.post({ token }, '[null,"1","phoenix","heartbeat",{}]')).body, '{"status":410}');
  }
  // Blank lines, CRLF, a non-ndjson single frame and prototype names are plain data.
  const token = await peer.open({ vsn: '2.0.0', __proto__: 'x', constructor: 'y' } as Record<string, string>);
  assert.equal((await peer.post({ token }, '\r\n[null,"1","phoenix","heartbeat",{}]\r\n\r\n')).body, '{"status":200}');
  assert.equal((await peer.post({ token }, '[null,\n"2","phoenix","heartbeat",{}]', { 'content-type': 'application/json' })).body, '{"status":200}');
  assert.equal(JSON.parse((await peer.get({ token })).body).messages.length, 2);
  await s.server.close();
});

test('bodies over longPollMaxBodyBytes: refused from Content-Length or while streaming, 413, the session ends 1009', async () => {
  const { s, codes, peer } = await setup({ longPollMaxBodyBytes: 1000 });
  const token = await peer.open();
  assert.equal((await peer.post({ token }, `["1","1","room:a","echo",{"pad":"${'x'.repeat(2000)}"}]`)).body, '{"status":413}');
  await pollUntil(() => codes.at(-1) === 1009, 'close 1009');
  const second = await peer.open();
  const chunked = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(400).fill(0x20));
      controller.close();
    },
  });
  const res = await fetch(peer.url({ token: second }), { method: 'POST', body: chunked, duplex: 'half' } as RequestInit);
  assert.equal(await res.text(), '{"status":413}');
  await pollUntil(() => codes.length === 2, 'the second session to end');
  await s.server.close();
});

test('a body sent a byte at a time: 408 after handshakeTimeoutMs, and the connection is closed', async () => {
  const clock = new VirtualClock();
  const { s, peer, httpUrl } = await setup({ clock, handshakeTimeoutMs: 2000 });
  const token = await peer.open();
  const { hostname, port } = new URL(httpUrl);
  const before = clock.pendingTimers;
  const answer = new Promise<{ body: string; closed: Promise<void> }>((resolve, reject) => {
    const req = request({ host: hostname, port, method: 'POST', path: `/socket/longpoll?token=${token}`, headers: { 'content-type': 'application/x-ndjson', 'content-length': '100' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ body, closed: new Promise((done) => req.socket?.once('close', () => done())) }));
    });
    req.on('error', reject);
    req.write('[null,');
  });
  await pollUntil(() => clock.pendingTimers > before, 'the body timer');
  clock.advance(2000);
  const { body, closed } = await answer;
  assert.equal(body, '{"status":408}');
  await closed;
  await s.server.close();
});

test('cross-origin: an allowed origin is reflected and its preflight answered; any other gets 403 and no CORS header', async () => {
  const { s, httpUrl } = await setup({ allowedOrigins: ['https://app.example'] });
  const preflight = await fetch(`${httpUrl}/socket/longpoll?vsn=2.0.0`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-phoenix-longpoll-token, x-evil' },
  });
  assert.equal(preflight.status, 200);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.equal(preflight.headers.get('access-control-allow-headers'), 'content-type, x-phoenix-longpoll-token');
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  const open = await fetch(`${httpUrl}/socket/longpoll?vsn=2.0.0`, { headers: { origin: 'https://app.example' } });
  assert.equal(open.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.equal(JSON.parse(await open.text()).status, 410);
  for (const method of ['OPTIONS', 'GET', 'POST']) {
    const res = await fetch(`${httpUrl}/socket/longpoll?vsn=2.0.0`, { method, headers: { origin: 'https://evil.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), null, method);
    assert.equal(await res.text(), '{"status":403}', method);
  }
  await s.server.close();
});

test('a flood of first GETs: sessions stop at maxConnections (500: retry later), and idle expiry gives the slots back', async () => {
  const clock = new VirtualClock();
  const { s, peer } = await setup({ clock, maxConnections: 20, longPollIdleMs: 3000, sweepIntervalMs: 500 });
  const answers = await Promise.all(Array.from({ length: 40 }, () => peer.get({ vsn: '2.0.0' })));
  const statuses = answers.map((a) => (JSON.parse(a.body) as { status: number }).status);
  assert.equal(statuses.filter((x) => x === 410).length, 20);
  assert.equal(statuses.filter((x) => x === 500).length, 20);
  assert.equal(s.server.connectionCount, 20);
  for (let i = 0; i < 7; i++) clock.advance(500);
  await pollUntil(() => s.server.connectionCount === 0, 'the idle sessions to end');
  assert.equal(s.server.longPollSessions, 0);
  assert.equal(JSON.parse((await peer.get({ vsn: '2.0.0' })).body).status, 410, 'a slot is free again');
  await s.server.close();
});
