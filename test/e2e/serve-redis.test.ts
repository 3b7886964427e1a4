/** Two `tether serve --redis` processes form one server: a shout and presence cross between them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawClient } from '../helpers/server-fixtures.ts';
import { serveProcess, startServe } from '../helpers/serve-process.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'Redis is not reachable (TETHER_SKIP_REDIS=1): skipping the two-node serve test' : false;
const serve = () => serveProcess(['--port', '0', '--redis', redisUrl]);

test('a shout on node A reaches a client of node B, and B sees A\'s presence', { skip }, async () => {
  const [a, b] = await Promise.all([serve(), serve()]);
  const topic = `room:redis-${process.pid}-${Date.now()}`;
  const ca = await RawClient.connect(`${a.url}/websocket?vsn=2.0.0&user=ann`);
  const cb = await RawClient.connect(`${b.url}/websocket?vsn=2.0.0&user=bob`);
  cb.send(['1', '1', topic, 'phx_join', {}]);
  await cb.json();
  await cb.json();
  await cb.json();
  ca.send(['1', '1', topic, 'phx_join', {}]);
  await ca.json();
  const seen: unknown[] = [];
  for (let i = 0; i < 10 && !seen.some((f) => JSON.stringify(f).includes('"ann"')); i++) seen.push(await cb.json(5000));
  assert.ok(seen.some((f) => (f as unknown[])[3] === 'presence_diff' && JSON.stringify(f).includes('"ann"')), 'B got ann\'s join');
  ca.send(['1', '2', topic, 'shout', { from: 'a' }]);
  let shout: unknown;
  for (let i = 0; i < 10 && shout === undefined; i++) {
    const f = (await cb.json(5000)) as unknown[];
    if (f[3] === 'shout') shout = f;
  }
  assert.deepEqual(shout, [null, null, topic, 'shout', { from: 'a' }]);
  ca.close();
  cb.close();
  for (const { child } of [a, b]) {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('--redis without --long-poll-secret warns that long-poll sessions stay on one node; with one it does not', { skip }, async () => {
  const bare = await startServe(['--redis', redisUrl]);
  const keyed = await startServe(['--redis', redisUrl, '--long-poll-secret', 'k'.repeat(32)]);
  // 'close' comes after the child's stdout and stderr have ended: everything it wrote has been read.
  const closed = [bare, keyed].map((r) => new Promise((resolve) => r.child.once('close', resolve)));
  for (const running of [bare, keyed]) running.child.kill('SIGTERM');
  await Promise.all(closed);
  assert.match(bare.output(), /warning: long-poll sessions of this node are valid only on this node; set --long-poll-secret/);
  assert.doesNotMatch(keyed.output(), /warning: long-poll/);
});
