/**
 * Scenario 5: 2,000 connected clients, the server process killed and restarted. Every client must rejoin
 * within a stated bound, and the connection attempts per 100 ms window are measured with the default
 * default schedule (outage-driven, jittered) and with a plain exponential backoff (no jitter), side by side.
 *
 * Sizes: TETHER_FAULT_SCALE (default 1 = 2,000 clients in 4 worker processes; the server is down ~1 s).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { startFixture, type FixtureProcess } from './harness/processes.ts';
import { collect, percentile, startClientWorkers, timeToRejoin, type ClientSummary } from './harness/stream.ts';
import { FaultTable } from './harness/table.ts';

const scale = Number(process.env.TETHER_FAULT_SCALE ?? 1);
const WORKERS = 4;
const CLIENTS = Math.max(WORKERS * 25, Math.round((2_000 * scale) / WORKERS) * WORKERS);
const DOWN_MS = 1_000;
/**
 * Stated bound: every client rejoined within this long of the kill. The server is unreachable ~2 s (kill,
 * 1 s down, process start). The default schedule (outageBackoff) retries a young outage every 400-900 ms, so
 * each client's next attempt comes within 0.9 s of the server's return; the rest is the server accepting
 * 2,000 connections on a loaded machine. So: down time + one delay + generous room for the machine's load
 * (under a load average of 30 on 2 cores a 1 s outage took 15 s from kill to the last rejoin).
 * The full figures (several outages, the phoenix.js schedule beside ours) are in reconnect-outages.test.ts.
 */
const REJOIN_BOUND_MS = 2_000 + 900 + 27_000;
const WINDOW_MS = 100;
const table = new FaultTable();
const peaks: string[] = [];
after(() => {
  table.print();
  if (peaks.length > 0) console.log(`connection attempts per ${WINDOW_MS} ms after the kill, peak window:\n${peaks.join('\n')}\n`);
});

interface Storm {
  rejoinMs: number;
  rejoinP50: number;
  rejoinP99: number;
  peak: number;
  attempts: number;
  rejoined: number;
  histogram: number[];
}

async function storm(jitter: boolean): Promise<Storm> {
  const topic = `stream:${randomUUID().slice(0, 8)}`;
  const procs: FixtureProcess[] = [];
  try {
    let server = await startFixture('server', 'stream-server.ts', { TOPIC: topic });
    procs.push(server.proc);
    const port = server.ready.port as number;
    const workers = await startClientWorkers(WORKERS, CLIENTS / WORKERS, {
      URL: `ws://127.0.0.1:${port}/socket`,
      TOPIC: topic,
      JITTER: jitter ? '1' : '0',
      JOIN_STAGGER: '50',
    });
    procs.push(...workers);
    await server.proc.kill();
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, DOWN_MS));
    server = await startFixture('server (restarted)', 'stream-server.ts', { TOPIC: topic, PORT: String(port) });
    procs.push(server.proc);
    let summaries: ClientSummary[] = [];
    const deadline = killedAt + REJOIN_BOUND_MS + 15_000;
    while (Date.now() < deadline) {
      summaries = await collect(workers, 0);
      if (summaries.every((s) => s.joinedAt.some((t) => t > killedAt))) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const histogram: number[] = [];
    let attempts = 0;
    for (const s of summaries) {
      for (const t of s.attemptsAt) {
        if (t < killedAt) continue;
        const w = Math.floor((t - killedAt) / WINDOW_MS);
        histogram[w] = (histogram[w] ?? 0) + 1;
        attempts++;
      }
    }
    const rejoined = summaries.filter((s) => s.joinedAt.some((t) => t > killedAt)).length;
    const firstRejoin = summaries.map((s) => Math.min(...s.joinedAt.filter((t) => t > killedAt)) - killedAt);
    let peak = 0;
    for (let i = 0; i < histogram.length; i++) peak = Math.max(peak, histogram[i] ?? 0);
    const result: Storm = {
      rejoinMs: rejoined === summaries.length ? timeToRejoin(summaries, killedAt) : Infinity,
      rejoinP50: percentile(firstRejoin, 50),
      rejoinP99: percentile(firstRejoin, 99),
      peak,
      attempts,
      rejoined,
      histogram,
    };
    table.add({
      scenario: `5. ${CLIENTS} clients, server restart, ${jitter ? 'default schedule' : 'no jitter'}`,
      sent: CLIENTS,
      received: rejoined,
      duplicates: 0,
      lost: CLIENTS - rejoined,
      recoverMs: result.rejoinMs,
      note: `server down ${DOWN_MS} ms; rejoin p50 ${(result.rejoinP50 / 1000).toFixed(2)} s, p99 ${(result.rejoinP99 / 1000).toFixed(2)} s; ${attempts} attempts, peak ${result.peak} per ${WINDOW_MS} ms`,
    });
    return result;
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
  }
}

function sparkline(h: number[], upto: number): string {
  const out: string[] = [];
  for (let i = 0; i < upto; i++) out.push(String(h[i] ?? 0).padStart(5));
  return out.join('');
}

test(`${CLIENTS} clients and a server restart: all rejoin within ${REJOIN_BOUND_MS / 1000} s, with and without jitter`, { timeout: 170_000 }, async () => {
  const jittered = await storm(true);
  const lockstep = await storm(false);
  const windows = Math.min(60, Math.max(jittered.histogram.length, lockstep.histogram.length));
  peaks.push(
    `  window (x${WINDOW_MS} ms) ${sparkline([...Array(windows).keys()], windows)}`,
    `  default schedule     ${sparkline(jittered.histogram, windows)}   peak ${jittered.peak}`,
    `  no jitter            ${sparkline(lockstep.histogram, windows)}   peak ${lockstep.peak}`,
  );
  assert.equal(jittered.rejoined, CLIENTS, 'every client rejoined');
  assert.ok(jittered.rejoinMs <= REJOIN_BOUND_MS, `rejoined within ${jittered.rejoinMs} ms`);
  assert.equal(lockstep.rejoined, CLIENTS, 'every client rejoined without jitter too');
  // The peaks are printed, not asserted: on a loaded machine the workers notice the kill over a few hundred
  // ms, which smears the lockstep waves about as much as a 500 ms jitter window spreads them.
});
