/**
 * A Redis outage is visible and quiet: every broadcast resolves `{ok: false, reason: 'broker_error'}` (never
 * rejects, never crashes a handler), failures are counted in metrics, and the log gets a bounded number of
 * lines however many publishes fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisBroker } from '../../src/broker/redis.ts';
import { createLogger, loggingObserver } from '../../src/ops/logger.ts';
import { ServerMetrics } from '../../src/ops/metrics.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';
import { createFaultyLink } from '../../src/testing/index.ts';

const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1: Redis is not available' : false;

/** Broadcasts each push and answers with the broadcast's result. */
const relay: ChannelDefinition = {
  join: () => ok(),
  async handleIn(event, payload, socket) {
    const result = await socket.broadcast(event, payload);
    return ok(result as unknown as Record<string, string>);
  },
};

test('Redis cut: broadcasts resolve {ok:false, reason:"broker_error"}, failures are counted, the log stays quiet, clients keep their channels', { skip }, async (t) => {
  const proxy = await createFaultyLink({ target: `${redisUrl.hostname}:${redisUrl.port || 6379}` });
  const keyPrefix = `tether-outage-${process.pid}-${Math.random().toString(36).slice(2, 8)}:`;
  const broker = new RedisBroker({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix, heartbeatMs: 200, nodeTimeoutMs: 1000, reconnectMaxDelayMs: 200 });
  const lines: { msg: string; context?: string; repeated?: number }[] = [];
  const logger = createLogger({ level: 'error', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const s = await startServer({ broker, channels: { 'relay:*': relay }, messagesPerSecond: 10_000, messageBurst: 10_000 });
  s.server.observe(loggingObserver(logger, { errorIntervalMs: 60_000 }));
  s.server.observe(metrics.observer);
  t.after(async () => {
    await s.server.close();
    await broker.close();
    await proxy.close();
  });
  const c = await RawClient.connect(s.endpoint());
  await join(c, 'relay:a', '1');
  c.send(['1', '2', 'relay:a', 'm', { n: 1 }]);
  // The reply may come before the broadcast's trip through Redis: compare as a set.
  const before = [JSON.stringify(await c.json()), JSON.stringify(await c.json())].sort();
  assert.deepEqual(before, ['["1","2","relay:a","phx_reply",{"response":{"ok":true},"status":"ok"}]', '[null,null,"relay:a","m",{"n":1}]']);

  // Cut Redis for good: connections reset, and so is every new one.
  proxy.set('reset');
  const pushes = 300;
  for (let i = 0; i < pushes; i++) c.send(['1', `p${i}`, 'relay:a', 'm', { i }]);
  const results = new Map<string, unknown>();
  while (results.size < pushes) {
    const frame = (await c.json(10_000)) as [string, string, string, string, { response: { ok: boolean; reason?: string } }];
    if (frame[3] === 'phx_reply') results.set(frame[1], frame[4].response);
  }
  for (const [ref, response] of results) assert.deepEqual({ ...(response as object), message: undefined }, { ok: false, reason: 'broker_error', message: undefined }, ref);
  const direct = await s.server.broadcast('relay:a', 'm', { direct: true });
  assert.equal(direct.ok, false);

  assert.equal(metrics.totals.broadcastFailures, pushes + 1);
  const exposition = await metrics.exposition();
  assert.match(exposition, new RegExp(`tether_broadcast_failures_total\\{reason="broker_error"\\} ${pushes + 1}`));
  // One line per kind of error (broker.publish, broker, ...) in the interval, not one per failed publish.
  const publishLines = lines.filter((l) => l.context?.startsWith('broker.publish'));
  assert.equal(publishLines.length, 1, JSON.stringify(lines.map((l) => l.context)));
  assert.ok(lines.length <= 5, `log lines during the outage: ${lines.length}`);
  t.diagnostic(`${pushes + 1} failed broadcasts during the outage, ${lines.length} log line(s): ${lines.map((l) => l.context).join(', ')}`);
  // The channel lives: a heartbeat and another push are still answered.
  c.send([null, 'hb', 'phoenix', 'heartbeat', {}]);
  let hb: unknown[];
  do hb = (await c.json()) as unknown[];
  while (hb[1] !== 'hb');
  assert.equal((hb[4] as { status: string }).status, 'ok');
  c.close();
});
