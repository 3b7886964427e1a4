/**
 * Scenario 2: a TCP proxy between the clients and the server stops forwarding for 5 s in the middle of a
 * stream (no FIN, no RST). The clients must notice within heartbeat interval + timeout, reconnect once the
 * path is back, and recover every message: no loss, no duplicates.
 *
 * Sizes: TETHER_FAULT_SCALE (default 1 = 10 clients, 5,000 broadcasts at ~1,000/s, a 5 s black hole).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { createFaultyLink } from '../../src/testing/faulty-link.ts';
import { startFixture, type FixtureProcess } from './harness/processes.ts';
import { settle, startClientWorkers, streamRow } from './harness/stream.ts';
import { FaultTable } from './harness/table.ts';

const scale = Number(process.env.TETHER_FAULT_SCALE ?? 1);
const TOTAL = Math.max(1000, Math.round(5_000 * scale));
const CLIENTS = Math.max(2, Math.round(10 * scale));
const BLACKHOLE_MS = 5_000;
const HEARTBEAT_MS = 1_000;
const HEARTBEAT_TIMEOUT_MS = 1_000;
/** Timer granularity and a loaded 2-core machine. */
const SLACK_MS = 500;
const table = new FaultTable();
after(() => table.print());

test('a 5 s black hole mid-stream: dead link detected within interval + timeout, then every message recovered once', { timeout: 120_000 }, async () => {
  const topic = `stream:${randomUUID().slice(0, 8)}`;
  const procs: FixtureProcess[] = [];
  const server = await startFixture('server', 'stream-server.ts', { TOPIC: topic, HISTORY_MAX: String(TOTAL) });
  procs.push(server.proc);
  const proxy = await createFaultyLink({ target: server.ready.port as number });
  try {
    const workers = await startClientWorkers(1, CLIENTS, {
      URL: `ws://127.0.0.1:${proxy.port}/socket`,
      TOPIC: topic,
      HEARTBEAT_MS: String(HEARTBEAT_MS),
      HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
    });
    procs.push(...workers);
    const published = server.proc.next('published', 60_000);
    server.proc.send({ type: 'publish', total: TOTAL, perTick: 10, tickMs: 10 });
    await server.proc.next('progress', 30_000, (m) => (m.seq as number) >= TOTAL * 0.2);
    proxy.set('blackhole');
    const cutAt = Date.now();
    await new Promise((r) => setTimeout(r, BLACKHOLE_MS));
    proxy.heal();
    const restoredAt = Date.now();
    await published;
    const summaries = await settle(workers, TOTAL, restoredAt, 30_000);
    const detectMs = Math.max(...summaries.map((s) => (s.deadAt.find((t) => t >= cutAt) ?? Infinity) - cutAt));
    const recoverMs = Math.max(...summaries.map((s) => Math.min(...s.joinedAt.filter((t) => t > cutAt)) - restoredAt));
    table.add(
      streamRow('2. 5 s black hole (no FIN/RST)', TOTAL, summaries, Math.max(0, recoverMs), `${CLIENTS} clients; dead link detected after ${(detectMs / 1000).toFixed(2)} s (interval ${HEARTBEAT_MS} + timeout ${HEARTBEAT_TIMEOUT_MS} ms); time counted from the link's return`),
    );
    assert.ok(detectMs <= HEARTBEAT_MS + HEARTBEAT_TIMEOUT_MS + SLACK_MS, `detected after ${detectMs} ms`);
    for (const s of summaries) {
      assert.equal(s.unique, TOTAL, 'every message');
      assert.equal(s.duplicates, 0, 'no duplicates');
      assert.equal(s.inOrder, true, 'in order');
      assert.equal(s.lostSignals, 0, 'recovered from history');
    }
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await proxy.close();
  }
});
