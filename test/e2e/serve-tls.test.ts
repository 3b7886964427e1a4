/**
 * `tether serve --tls-cert --tls-key`: wss:// and https:// with a throwaway CA made at test time, reached by the
 * Node client (CA, right and wrong SHA-256 pin), `tether connect --ca`, and the stock phoenix client.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Socket as PhoenixSocket } from 'phoenix';
import { WebSocket } from 'ws';
import { Socket } from '../../src/client/index.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { startServe, type Running } from '../helpers/serve-process.ts';
import { pollUntil } from '../helpers/poll.ts';

const run = promisify(execFile);
let dir: string;
let ca: string;
let certFile: string;
let keyFile: string;
let caFile: string;
let fingerprint: string;
let served: Running;
let wsUrl: string;
const sockets: Socket[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-serve-tls-'));
  // A CA, and a leaf for 127.0.0.1 / localhost signed by it (P-256 keys: fast to make).
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Tether test CA');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '1', '-extfile', 'leaf.ext');
  caFile = join(dir, 'ca.pem');
  certFile = join(dir, 'cert.pem');
  keyFile = join(dir, 'key.pem');
  ca = readFileSync(caFile, 'utf8');
  fingerprint = new X509Certificate(readFileSync(certFile)).fingerprint256;
  served = await startServe(['--tls-cert', certFile], { TETHER_TLS_KEY: keyFile });
  wsUrl = served.wsUrl;
});

after(async () => {
  await Promise.all(sockets.map((s) => s.disconnect()));
  rmSync(dir, { recursive: true, force: true });
});

test('the printed URLs are wss:// and https://, and HTTPS answers with the CA trusted', async () => {
  assert.match(served.wsUrl, /^wss:\/\/127\.0\.0\.1:\d+\/socket$/);
  assert.match(served.httpUrl, /^https:\/\//);
  const status = await new Promise<number>((resolve, reject) => get(`${served.httpUrl}/healthz`, { ca }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
  assert.equal(status, 200);
});

test('TLS older than 1.2 is refused', async () => {
  const port = Number(new URL(served.httpUrl).port);
  const outcome = await new Promise<string>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => (s.destroy(), resolve('connected')));
    s.on('error', (err) => resolve(err.message));
  });
  assert.notEqual(outcome, 'connected');
  const modern = await new Promise<string>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }, () => {
      resolve(s.getProtocol() ?? '');
      s.destroy();
    });
    s.on('error', (err) => resolve(err.message));
  });
  assert.equal(modern, 'TLSv1.2');
});

async function joined(socket: Socket): Promise<string> {
  sockets.push(socket);
  socket.connect();
  const push = socket.channel('room:tls').join();
  const result = await push;
  return result.status;
}

test('the Node client joins with the CA, and with the right SHA-256 pin', async () => {
  assert.equal(await joined(new Socket(wsUrl, { tls: { ca } })), 'ok');
  assert.equal(await joined(new Socket(wsUrl, { tls: { pinnedSha256: [fingerprint] } })), 'ok');
});

test('a wrong pin fails with a clear error and waits for its backoff before the next attempt', async () => {
  const clock = new VirtualClock();
  const socket = new Socket(wsUrl, { tls: { pinnedSha256: ['ab'.repeat(32)] }, clock });
  sockets.push(socket);
  const errors: string[] = [];
  const delays: number[] = [];
  socket.on('error', (e) => errors.push(e.message));
  socket.on('state', (t) => t.to === 'reconnecting' && t.detail.delayMs !== undefined && delays.push(t.detail.delayMs));
  socket.connect();
  await pollUntil(() => errors.length > 0, 'the handshake error');
  assert.match(errors[0], /matches no pinned fingerprint/);
  // Real time passes, virtual time does not: a client that retried without its backoff would attempt again here.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.equal(delays.length, 1);
  assert.equal(socket.state, 'reconnecting');
  await socket.disconnect();
});

test('tether connect wss:// with --ca joins; without it, a missing file is a usage error', async () => {
  const { stdout } = await run(process.execPath, ['src/cli/main.ts', 'connect', wsUrl, '--ca', caFile, '--join', 'room:tls', '--exit-after', 'join', '--json'], { timeout: 15_000 });
  assert.match(stdout, /"joined"|"type":"join/);
  const missing = await run(process.execPath, ['src/cli/main.ts', 'connect', wsUrl, '--ca', join(dir, 'nope.pem'), '--join', 'room:tls', '--exit-after', 'join'], { timeout: 15_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--ca: cannot read/);
});

test('the stock phoenix client joins over wss, through a ws WebSocket that trusts the CA', async () => {
  // Node's global WebSocket takes no TLS options; phoenix's `transport` is any WebSocket-like constructor.
  class TrustingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { ca });
    }
  }
  const socket = new PhoenixSocket(wsUrl, { transport: TrustingWebSocket as unknown as typeof globalThis.WebSocket });
  socket.connect();
  try {
    const channel = socket.channel('room:tls', {});
    const status = await new Promise<string>((resolve) => channel.join().receive('ok', () => resolve('ok')).receive('error', () => resolve('error')).receive('timeout', () => resolve('timeout')));
    assert.equal(status, 'ok');
  } finally {
    socket.disconnect();
  }
});

test('a missing or half TLS configuration exits 2 naming the flag', async () => {
  const serve = (args: string[]) =>
    run(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0', ...args], { timeout: 15_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
  const [missing, half] = await Promise.all([serve(['--tls-cert', certFile, '--tls-key', join(dir, 'nope.pem')]), serve(['--tls-cert', certFile])]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--tls-key \(TETHER_TLS_KEY\): cannot read .*nope\.pem: ENOENT/);
  assert.equal(half.code, 2);
  assert.match(half.stderr, /--tls-cert \/ --tls-key: TLS needs both/);
});
