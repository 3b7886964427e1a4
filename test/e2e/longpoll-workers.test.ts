/**
 * Long-poll on `tether serve --workers 2 --redis` without a configured `longPollSecret`: every request goes on a
 * fresh connection, which the primary hands to the workers in turn, so half of a session's requests reach the
 * worker that does not own it. They must verify its token (the primary gives the workers one secret) and relay.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { pollUntil } from '../helpers/poll.ts';
import { runServer } from '../helpers/serve-process.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'Redis is not reachable (TETHER_SKIP_REDIS=1)' : false;

/** One request on a fresh connection (no keep-alive): whichever worker the primary picks answers it. */
function fresh(url: string, method: 'GET' | 'POST', body?: string): Promise<{ status: number; token?: string; messages?: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/x-ndjson' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(JSON.parse(text) as { status: number }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a long-poll session works across two workers without a configured secret', { skip, timeout: 30_000 }, async () => {
  const prefix = `tether-lp-workers-${process.pid}-${Date.now()}:`;
  const server = await runServer(process.execPath, [
    'src/cli/main.ts', 'serve', '--port', '0', '--workers', '2', '--redis', redisUrl, '--redis-prefix', prefix,
    '--log-level', 'warn', '--long-poll-window-ms', '500',
  ]);
  await pollUntil(() => server.output().includes('all 2 worker(s) ready'), 'both workers ready', 10_000);
  const base = `${server.wsUrl.replace(/^ws/, 'http')}/longpoll`;

  const opened = await fresh(`${base}?user=lp&vsn=2.0.0`, 'GET');
  assert.equal(opened.status, 410);
  const at = `${base}?token=${encodeURIComponent(opened.token!)}&vsn=2.0.0`;
  const answers: number[] = [];
  for (let i = 1; i <= 6; i++) answers.push((await fresh(at, 'POST', JSON.stringify(['1', String(i), 'room:w', i === 1 ? 'phx_join' : 'echo', { i }]))).status);
  assert.deepEqual(answers, [200, 200, 200, 200, 200, 200], 'every POST, on either worker, reached the session');
  const replies = new Set<string>();
  for (let polls = 0; replies.size < 6; polls++) {
    assert.ok(polls < 10, `replies after ${polls} polls: ${[...replies]}`);
    const answer = await fresh(at, 'GET');
    assert.ok(answer.status === 200 || answer.status === 204, `poll answered ${answer.status}`);
    for (const m of answer.messages ?? []) {
      const [, ref, , event] = JSON.parse(m) as [unknown, string, string, string];
      if (event === 'phx_reply') replies.add(ref);
    }
  }
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});
