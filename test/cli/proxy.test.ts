/** `tether proxy` as a real process between a real client and a test server: stdin modes, schedules, usage errors. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { ok } from '../../src/server/index.ts';
import { connectTestClient, createTestServer, notifyChange, waitFor } from '../../src/testing/index.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

function start(args: string[]) {
  const child = spawn(process.execPath, [MAIN, 'proxy', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', code: null as number | null };
  child.stdout.on('data', (d: Buffer) => ((out.stdout += d.toString()), notifyChange()));
  child.stderr.on('data', (d: Buffer) => ((out.stderr += d.toString()), notifyChange()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((out.code = code), notifyChange(), resolve(code))));
  return { child, out, exited };
}

test('bad scripts, modes and addresses exit 2 with one line and the --help hint', async () => {
  const cases = [
    [['0', '4000', '--script', '5s ok; 3x blackhole'], /^tether proxy: bad --script: step 2 "3x blackhole": "3x" is not a duration/],
    [['0', '4000', '--script', 'blackhole; 2s ok'], /only the last step may omit its duration/],
    [['0', '4000', '--mode', 'sideways'], /^tether proxy: bad --mode: unknown mode "sideways"/],
    [['99999', '4000'], /^tether proxy: LISTEN "99999" must be PORT or HOST:PORT/],
  ] as const;
  const runs = cases.map(([args]) => start([...args]));
  for (const [i, [args, message]] of cases.entries()) {
    const p = runs[i];
    assert.equal(await p.exited, 2, args.join(' '));
    assert.match(p.out.stderr, message);
    const [line, hint, ...rest] = p.out.stderr.trim().split('\n');
    assert.ok(line && rest.length === 0, `one line and the hint: ${p.out.stderr}`);
    assert.equal(hint, 'Run "tether proxy --help" for every flag.');
  }
});

test('a client through `tether proxy`: a schedule runs, then modes typed on stdin cut and heal the link', async (t) => {
  const server = await createTestServer({ channels: { 'room:*': { join: () => ok() } } }, t);
  const p = start(['0', String(server.port), '--script', '100ms ok; heal']);
  t.after(() => p.child.kill('SIGTERM'));
  const port = Number((await waitFor(() => /listening on 127\.0\.0\.1:(\d+)/.exec(p.out.stdout), 'the banner'))[1]);
  await waitFor(() => p.out.stdout.includes('schedule done; ok stays in force'), 'the schedule to end');
  const client = await connectTestClient(`ws://127.0.0.1:${port}/socket`, { reconnect: () => 20 }, t);
  await client.join('room:1');
  p.child.stdin.write('reset\n');
  await waitFor(() => client.states.includes('reconnecting'), 'the reset to reach the client');
  assert.equal(client.transitions.find((x) => x.to === 'reconnecting')?.reason, 'transport_closed');
  p.child.stdin.write('nonsense\n');
  await waitFor(() => p.out.stderr.includes('unknown mode "nonsense"'), 'the bad mode reported');
  p.child.stdin.write('heal\n');
  await client.waitForState('open');
  assert.match(p.out.stdout, /mode reset\n.*mode ok\n/s);
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
