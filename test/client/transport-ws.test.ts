/** The `ws` transport (Node): custom headers, CA trust, certificate pinning, client certificates, HTTP status. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Socket, type SocketOptions } from '../../src/client/index.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { createServer, type ConnectInfo, type TetherServer } from '../../src/server/index.ts';
import { connectTestClient, waitFor } from '../../src/testing/index.ts';

let key: string;
let cert: string;
let fingerprint: string;
let dir: string;
const servers: TetherServer[] = [];
const httpsServers: ReturnType<typeof createHttpsServer>[] = [];
const sockets: Socket[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  key = readFileSync(join(dir, 'key.pem'), 'utf8');
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  fingerprint = new X509Certificate(cert).fingerprint256;
});

after(async () => {
  await Promise.all(sockets.map((s) => s.disconnect()));
  await Promise.all(servers.map((s) => s.close()));
  // The Tether server leaves an HTTP server it was given to its owner.
  for (const h of httpsServers) {
    h.closeAllConnections();
    h.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function tlsServer(extra: { requestCert?: boolean } = {}, seen: ConnectInfo[] = []) {
  const https = createHttpsServer({ key, cert, ...(extra.requestCert ? { requestCert: true, rejectUnauthorized: true, ca: [cert] } : {}) });
  httpsServers.push(https);
  const server = createServer({ httpServer: https, port: 0, host: '127.0.0.1', channels: { 'room:*': roomChannel }, connect: (info) => (seen.push(info), true) });
  servers.push(server);
  const { port } = await server.listen();
  return `wss://127.0.0.1:${port}/socket`;
}

async function outcome(url: string, options: SocketOptions): Promise<{ state: string; detail: string }> {
  const { socket } = await connectTestClient(url, { reconnect: () => null, ...options, awaitOpen: false });
  sockets.push(socket);
  const errors: string[] = [];
  socket.on('error', (e) => errors.push(e.message));
  await waitFor(() => socket.state === 'open' || socket.state === 'failed', 'open or failed');
  return { state: socket.state, detail: errors.join(' / ') };
}

test('headers reach the server and a trusted CA lets the TLS connection through', async () => {
  const seen: ConnectInfo[] = [];
  const url = await tlsServer({}, seen);
  const r = await outcome(url, { headers: { 'x-app': 'tether-test' }, tls: { ca: cert } });
  assert.equal(r.state, 'open', r.detail);
  assert.equal(seen[0].headers['x-app'], 'tether-test');
});

test('without the CA the connection fails before the upgrade', async () => {
  const url = await tlsServer();
  const r = await outcome(url, { headers: {} });
  assert.equal(r.state, 'failed');
  assert.match(r.detail, /self.signed|certificate/i);
});

test('a pinned SHA-256 fingerprint is accepted without a CA; a wrong pin is refused before any request is written', async () => {
  const seen: ConnectInfo[] = [];
  const url = await tlsServer({}, seen);
  const ok = await outcome(url, { tls: { pinnedSha256: [fingerprint] } });
  assert.equal(ok.state, 'open', ok.detail);
  const lower = await outcome(url, { tls: { pinnedSha256: [fingerprint.replace(/:/g, '').toLowerCase()] } });
  assert.equal(lower.state, 'open', 'pins compare without colons, case-insensitively');
  const wrong = await outcome(url, { authToken: 'secret', tls: { pinnedSha256: ['00'.repeat(32)] } });
  assert.equal(wrong.state, 'failed');
  assert.match(wrong.detail, /matches no pinned fingerprint/);
  assert.equal(seen.length, 2, 'the server never saw the request (nor its token) over the unpinned connection');
});

test('a client certificate for mutual TLS', async () => {
  const url = await tlsServer({ requestCert: true });
  const withCert = await outcome(url, { tls: { ca: cert, cert, key } });
  assert.equal(withCert.state, 'open', withCert.detail);
  const without = await outcome(url, { tls: { ca: cert } });
  assert.equal(without.state, 'failed');
});
