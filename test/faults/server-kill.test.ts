/**
 * Scenario 1: the server process is SIGKILLed in the middle of a stream of broadcasts to many clients and
 * restarted. With a persistent history (Redis Streams) every client ends with every message exactly once, in
 * order; with the in-memory history every client is told `recovered: false` and runs its resync path.
 *
 * Sizes: TETHER_FAULT_SCALE (default 1 = 10,000 broadcasts to 50 clients).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFixture, type FixtureProcess } from './harness/processes.ts';
import { settle, startClientWorkers, streamRow, timeToRejoin, type ClientSummary } from './harness/stream.ts';
import { FaultTable } from './harness/table.ts';

const scale = Number(process.env.TETHER_FAULT_SCALE ?? 1);
const TOTAL = Math.max(500, Math.round(10_000 * scale));
const CLIENTS = Math.max(5, Math.round(50 * scale));
const WORKERS = 5;
const table = new FaultTable();
after(() => table.print());

async function run(store: 'memory' | 'redis'): Promise<ClientSummary[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-fault-'));
  const env = {
    BROKER: store,
    PROGRESS_FILE: join(dir, 'progress'),
    TOPIC: `stream:${randomUUID().slice(0, 8)}`,
    KEY_PREFIX: `tether-fault-${randomUUID().slice(0, 8)}:`,
    HISTORY_MAX: String(TOTAL),
  };
  const procs: FixtureProcess[] = [];
  try {
    let server = await startFixture('server', 'stream-server.ts', { ...env, PORT: '0' });
    procs.push(server.proc);
    const port = server.ready.port as number;
    const workers = await startClientWorkers(WORKERS, CLIENTS / WORKERS, { URL: `ws://127.0.0.1:${port}/socket`, TOPIC: env.TOPIC });
    procs.push(...workers);
    // ~4,000 broadcasts per second; the kill lands at about 40% of the stream.
    server.proc.send({ type: 'publish', total: TOTAL, perTick: 20, tickMs: 5 });
    await server.proc.next('progress', 30_000, (m) => (m.seq as number) >= TOTAL * 0.4);
    await server.proc.kill();
    const killedAt = Date.now();
    server = await startFixture('server (restarted)', 'stream-server.ts', { ...env, PORT: String(port) });
    procs.push(server.proc);
    const published = server.proc.next('published', 60_000);
    server.proc.send({ type: 'publish', total: TOTAL, perTick: 20, tickMs: 5 });
    await published;
    const summaries = await settle(workers, TOTAL, killedAt, 60_000);
    const sum = (f: (s: ClientSummary) => number) => summaries.reduce((a, s) => a + f(s), 0);
    table.add(
      streamRow(
        `1. server SIGKILL mid-stream, ${store} history`,
        TOTAL,
        summaries,
        timeToRejoin(summaries, killedAt),
        `${CLIENTS} clients; ${sum((s) => s.lostSignals)} recovered:false, ${sum((s) => s.resyncs)} resyncs, ${sum((s) => s.unexplained)} unsignalled`,
      ),
    );
    return summaries;
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('server SIGKILL during a stream, Redis Streams history: every client gets every message exactly once, in order', { skip: process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1: Redis is not available' : false, timeout: 120_000 }, async () => {
  const summaries = await run('redis');
  assert.equal(summaries.length, CLIENTS);
  for (const s of summaries) {
    assert.equal(s.unique, TOTAL, 'every message');
    assert.equal(s.duplicates, 0, 'no duplicates');
    assert.equal(s.inOrder, true, 'in order');
    assert.equal(s.lostSignals, 0, 'recovered');
  }
});

test('server SIGKILL during a stream, in-memory history: every client is told recovered:false and resyncs; nothing unsignalled is lost', { timeout: 120_000 }, async () => {
  const summaries = await run('memory');
  assert.equal(summaries.length, CLIENTS);
  for (const s of summaries) {
    assert.ok(s.lostSignals >= 1, 'told recovered:false');
    assert.ok(s.resyncs >= 1, 'the resync path ran');
    assert.equal(s.duplicates, 0, 'no duplicates');
    assert.equal(s.inOrder, true, 'in order');
    assert.equal(s.unexplained, 0, 'every loss signalled');
    assert.equal(s.unique + s.signalled, TOTAL);
  }
});
