/**
 * History bounds as a client sees them: whatever a bound evicted (bytes per topic, bytes in all, an idle topic
 * dropped by the sweep), a rejoin that needs it answers `recovered: false` with the reason, never a partial replay.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { JsonObject } from '../../src/protocol/frame.ts';
import { ok, type ServerOptions } from '../../src/server/index.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

type Wire = [string | null, string | null, string, string, JsonObject, JsonObject?];

const BLOB = 'z'.repeat(10_000);

async function start(t: TestContext, options: Partial<ServerOptions>): Promise<Started> {
  const s = await startServer({ channels: { 'feed:*': { history: { maxMessages: 1000, ttlMs: 60_000 }, join: () => ok() } }, ...options });
  t.after(() => s.server.close());
  return s;
}

/** Joins (optionally from a position) and returns the join reply's meta element. */
async function joinFrom(t: TestContext, s: Started, topic: string, since?: { o: number; e: string }): Promise<JsonObject> {
  const c = await RawClient.connect(s.endpoint({ tether: '1' }));
  t.after(() => c.close());
  c.send(since ? ['1', '1', topic, 'phx_join', {}, { since }] : ['1', '1', topic, 'phx_join', {}]);
  for (;;) {
    const frame = (await c.json()) as Wire;
    if (frame[3] === 'phx_reply') {
      c.close();
      return frame[5]!;
    }
  }
}

test('a range evicted by the per-topic byte bound answers a rejoin with recovered:false, a range still held replays', async (t) => {
  const s = await start(t, { history: { maxTopicBytes: 35_000 } });
  const start0 = await joinFrom(t, s, 'feed:a');
  for (let n = 1; n <= 10; n++) s.server.broadcast('feed:a', 'msg', { n, blob: BLOB });
  const e = start0.e as string;
  assert.deepEqual(await joinFrom(t, s, 'feed:a', { o: 0, e }), { recovered: false, reason: 'gap_too_large', o: 10, e });
  const held = await joinFrom(t, s, 'feed:a', { o: 7, e });
  assert.deepEqual(held, { recovered: true, o: 10, e });
});

test('the total byte bound evicts the oldest topic entries first; their rejoin is not recovered', async (t) => {
  const s = await start(t, { history: { maxTotalBytes: 45_000 } });
  const a = await joinFrom(t, s, 'feed:a');
  const b = await joinFrom(t, s, 'feed:b');
  for (let n = 1; n <= 3; n++) s.server.broadcast('feed:a', 'msg', { n, blob: BLOB });
  for (let n = 1; n <= 3; n++) s.server.broadcast('feed:b', 'msg', { n, blob: BLOB });
  const ra = await joinFrom(t, s, 'feed:a', { o: 0, e: a.e as string });
  assert.deepEqual([ra.recovered, ra.reason], [false, 'gap_too_large']);
  const rb = await joinFrom(t, s, 'feed:b', { o: 0, e: b.e as string });
  assert.equal(rb.recovered, true, 'the newest topic kept all of its entries');
});

test('an idle topic (no subscriber, no append for its TTL) is dropped by the sweep: the rejoin says epoch_changed', async (t) => {
  const clock = new VirtualClock();
  const s = await start(t, { clock });
  const first = await joinFrom(t, s, 'feed:idle');
  s.server.broadcast('feed:idle', 'msg', { n: 1 });
  // The subscriber left; a quick rejoin (within the TTL) still recovers.
  await new Promise((r) => setTimeout(r, 20));
  clock.advance(30_000);
  const quick = await joinFrom(t, s, 'feed:idle', { o: 0, e: first.e as string });
  assert.equal(quick.recovered, true);
  await new Promise((r) => setTimeout(r, 20));
  clock.advance(65_000);
  const late = await joinFrom(t, s, 'feed:idle', { o: 1, e: first.e as string });
  assert.deepEqual([late.recovered, late.reason], [false, 'epoch_changed']);
});
