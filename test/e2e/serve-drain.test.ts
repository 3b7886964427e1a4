/**
 * A graceful restart of one of two `tether serve --redis` nodes: a Tether client that knows both endpoints
 * reads the drain's 1012, moves to the other node at once, and recovers every shout it missed (recovered: true).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Socket, type StateTransition } from '../../src/client/index.ts';
import type { JoinRecoveryContext } from '../../src/protocol/extension.ts';
import { serveProcess } from '../helpers/serve-process.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'Redis is not reachable (TETHER_SKIP_REDIS=1): skipping the two-node drain test' : false;
const prefix = `drain${process.pid}x${Date.now().toString(36)}:`;
const sockets: Socket[] = [];
after(() => Promise.all(sockets.map((s) => s.disconnect())));
const serve = () => serveProcess(['--port', '0', '--redis', redisUrl, '--redis-prefix', prefix, '--drain-reconnect-window-ms', '400', '--log-level', 'warn']);

const until = async (check: () => boolean, what: string, ms = 15_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('SIGTERM on node A: its Tether client opens its link to node B first, moves, and recovers every shout', { skip, timeout: 60_000 }, async () => {
  const [a, b] = await Promise.all([serve(), serve()]);
  const topic = `room:drain-${process.pid}-${Date.now()}`;
  const TOTAL = 60;

  const listener = new Socket([a.url, b.url], { page: false });
  sockets.push(listener);
  const transitions: StateTransition[] = [];
  listener.on('state', (t) => transitions.push(t));
  const room = listener.channel(topic);
  const got: number[] = [];
  const joins: JoinRecoveryContext[] = [];
  room.on('shout', (p) => got.push((p as { n: number }).n));
  room.onLifecycle('joined', (c) => joins.push(c));
  listener.connect();
  assert.equal((await room.join()).status, 'ok');
  assert.equal(listener.endpoint, a.url);

  const shouter = new Socket(b.url, { page: false });
  sockets.push(shouter);
  shouter.connect();
  const out = shouter.channel(topic);
  assert.equal((await out.join()).status, 'ok');
  let sent = 0;
  const shouting = (async () => {
    while (sent < TOTAL) {
      out.push('shout', { n: ++sent });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  await until(() => got.length >= 10, 'the first shouts through node A');
  const exited = new Promise((resolve) => a.child.once('exit', resolve));
  const sigtermAt = Date.now();
  a.child.kill('SIGTERM');
  await until(() => joins.length === 2, 'the rejoin on node B');
  const backAfter = Date.now() - sigtermAt;
  assert.equal(await exited, 0, 'node A drained and exited cleanly');
  await shouting;
  await until(() => got.length >= TOTAL, `all ${TOTAL} shouts`);

  const moved = transitions.find((t) => t.reason === 'handover');
  assert.equal(moved?.detail.code, 1012, 'moved on the drain notice, before node A closed it');
  assert.ok(!transitions.some((t) => t.reason === 'transport_closed'), 'never without a link to wait for');
  assert.equal(listener.endpoint, b.url, 'moved to node B');
  assert.ok(backAfter < 5_000, `back on B ${backAfter} ms after SIGTERM`);
  assert.equal(joins[1].wasRecovering, true);
  assert.equal(joins[1].recovered, true, 'node B replayed the gap from the Redis history');
  assert.deepEqual(got, Array.from({ length: TOTAL }, (_, i) => i + 1), 'every shout once, in order');
});
