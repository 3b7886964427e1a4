/**
 * The real `tether` processes: `serve` with its operations (config layers, endpoints, refusal to start on bad
 * configuration) and `connect` / `bench` spawned against it, checking exit codes and output.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !['PORT', 'HOST', 'LOG_LEVEL', 'TETHER_TOKEN', 'TETHER_ADMIN_TOKEN', 'TETHER_PRESET'].includes(k)),
);

function run(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...cleanEnv, ...options.env }, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tether ${args.join(' ')} did not exit within ${options.timeoutMs ?? 20000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let server: ChildProcessWithoutNullStreams;
let httpUrl: string;
let wsUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'tether-serve-'));

before(async () => {
  writeFileSync(join(dir, 'tether.config.json'), JSON.stringify({ preset: 'low-memory', logLevel: 'warn' }));
  server = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--max-channels-per-connection', '3'], {
    cwd: dir,
    env: { ...cleanEnv, TETHER_PRESENCE_BATCH_MS: '20' },
  });
  let banner = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner: ${banner}`)), 15_000);
    server.stdout.on('data', (d: Buffer) => {
      banner += d.toString();
      const http = /HTTP +(http:\/\/\S+)/.exec(banner);
      if (http && /config/.test(banner)) {
        clearTimeout(timer);
        httpUrl = http[1];
        wsUrl = `${httpUrl.replace('http', 'ws')}/socket`;
        resolve();
      }
    });
    server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${banner}`)));
  });
  assert.match(banner, /preset low-memory, .*tether\.config\.json/);
});

after(async () => {
  if (server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
  rmSync(dir, { recursive: true, force: true });
});

test('serve exposes health, readiness, metrics and the dashboard', async () => {
  assert.equal((await fetch(`${httpUrl}/healthz`)).status, 200);
  assert.deepEqual(await (await fetch(`${httpUrl}/readyz`)).json(), { ready: true, broker: true, draining: false });
  assert.match(await (await fetch(`${httpUrl}/metrics`)).text(), /^tether_connections 0$/m);
  const page = await fetch(httpUrl);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Tether · live dashboard/);
});

test('connect: a scripted run exits 0 with the reply; the flag limit from the command line applies', async () => {
  const ok = await run(['connect', wsUrl, '--join', 'room:lobby', '--push', 'echo {"x":1}', '--exit-after', 'reply', '--json']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const reply = ok.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.type === 'reply');
  assert.deepEqual(reply.response, { x: 1 });

  const args = ['connect', wsUrl, '--exit-after', 'join', '--json'];
  for (const topic of ['room:1', 'room:2', 'room:3', 'room:4']) args.push('--join', topic);
  const limited = await run(args);
  assert.equal(limited.code, 4, 'the fourth join is refused by --max-channels-per-connection 3');
  assert.match(limited.stdout, /too many channels joined/);
});

test('connect: exit codes for a refused join and an error reply', async () => {
  assert.equal((await run(['connect', wsUrl, '--join', 'room:private', '--exit-after', 'join'])).code, 4);
  assert.equal((await run(['connect', wsUrl, '--join', 'room:lobby', '--push', 'fail', '--exit-after', 'reply'])).code, 5);
  assert.equal((await run(['connect', 'nota url'])).code, 2);
});

test('usage errors: exit 2 with one line and a hint, not the whole help; --version', async () => {
  const [bad, unknown, badValue, printed, help, badQueue] = await Promise.all([
    run(['connect', wsUrl, '--jsn']),
    run(['conect']),
    run(['bench', wsUrl, '-c', 'many']),
    run(['--version']),
    run(['connect', '--help']),
    run(['tasks', 'watch', 'bad queue!']),
  ]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `tether connect: unknown option '--jsn' (Did you mean one of --json, --vsn?)\nRun "tether connect --help" for every flag.\n`);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^tether: unknown command 'conect' \(Did you mean connect\?\)\nRun "tether --help" for every command\.\n$/);
  assert.equal(badValue.code, 2);
  assert.match(badValue.stderr, /^tether bench: option '-c, --connections <n>' argument 'many' is invalid\. must be a positive integer\.\n/);
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.deepEqual([printed.code, printed.stdout], [0, `${version}\n`]);
  assert.deepEqual([help.code, help.stdout.startsWith('Usage: tether connect')], [0, true]);
  assert.deepEqual([badQueue.code, badQueue.stderr], [2, 'tether tasks watch: bad queue name "bad queue!" (1-100 characters of A-Z a-z 0-9 . _ -)\nRun "tether tasks watch --help" for every flag.\n']);
});

test('bench runs briefly against serve and prints a JSON result', async () => {
  const result = await run(['bench', wsUrl, '-c', '10', '-s', '5', '-r', '50', '-d', '1', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const parsed = JSON.parse(result.stdout);
  assert.equal(parsed.connections.connected, 10);
  assert.equal(parsed.delivered, parsed.expected);
  assert.ok(parsed.expected > 0);
});

test('serve refuses to start on invalid configuration and says why', async () => {
  const bad = mkdtempSync(join(tmpdir(), 'tether-bad-'));
  try {
    writeFileSync(join(bad, 'tether.config.json'), JSON.stringify({ maxConections: 10 }));
    const result = await run(['serve', '--port', '0', '--preset', 'fast'], { cwd: bad, env: { LOG_LEVEL: 'loud' } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /tether\.config\.json: maxConections: unknown key \(did you mean "maxConnections"\?\)/);
    assert.match(result.stderr, /environment: LOG_LEVEL: must be one of/);
    assert.match(result.stderr, /flags: --preset: must be one of "standard", "high-throughput", "low-memory" \(got "fast"\)/);
    assert.match(result.stderr, /^tether serve: Invalid configuration:\n/);
    assert.match(result.stderr, /\nRun "tether serve --help" for every flag\.\n$/);
  } finally {
    rmSync(bad, { recursive: true, force: true });
  }
});
