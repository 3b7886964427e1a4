/**
 * Stalled consumers against `tether serve` (issue: the outbound budget must bound memory). 10 clients join a
 * room and stop reading at the TCP level while one client shouts 32 KiB at 100/s into it for 10 s. Three
 * servers side by side, default limits (budget 4 MiB, grace 5 s, close grace 10 s):
 *   - cap: the hard cap at its default (1.5x the budget);
 *   - baseline: the same shouts, no stalled consumer (what history and the shouts cost on their own);
 *   - grace only: the cap lifted to 1 GiB, i.e. the server as it was before the cap.
 * Printed: RSS and V8 heap before, at the peak and after the stalled ones were cut (and the shouts stopped),
 * and the peak extra RSS per stalled consumer = (peak - baseline peak) / 10. Asserted: each stalled consumer
 * is closed with 4001 and the peak extra per consumer stays within 1.5x the budget.
 *
 * TETHER_FAULT_SCALE scales the shouting time (default 1 = 10 s).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { WebSocket } from 'ws';
import { StalledSubscriber } from './harness/stalled-subscriber.ts';
import { ServeProcess } from './harness/serve.ts';
import { FaultTable, FIGURES_ONLY } from './harness/table.ts';

const scale = Number(process.env.TETHER_FAULT_SCALE ?? 1);
const SHOUT_MS = Math.round(10_000 * scale);
const RATE = 100;
const STALLED = 10;
const BUDGET = 4 * 1024 * 1024;
const TOPIC = 'room:attack';
const MB = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
const table = new FaultTable();
after(() => table.print());

interface Figures {
  name: string;
  rss: { before: number; peak: number; after: number };
  heap: { before: number; peak: number; after: number };
  shouts: number;
  closed4001: number;
  /** From the first shout until the last stalled consumer was sent its 4001 (sampled every 0.5 s). */
  closedAfterMs: number;
  /** From the first shout until only the shouter was left (4001, then closeGraceMs for the peer's answer). */
  cutAfterMs: number;
}

async function shouter(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const joined = new Promise((r) => ws.once('message', r));
  ws.send(JSON.stringify(['1', '1', TOPIC, 'phx_join', {}]));
  await joined;
  return ws;
}

async function run(name: string, stalledCount: number, flags: string[]): Promise<Figures> {
  const serve = await ServeProcess.start(flags);
  const stalled: StalledSubscriber[] = [];
  let ws: WebSocket | null = null;
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const heapNow = async () => (await serve.metrics()).get('nodejs_heap_size_used_bytes') ?? NaN;
    const before = { rss: serve.rss(), heap: await heapNow() };
    for (let i = 0; i < stalledCount; i++) stalled.push(await StalledSubscriber.join(serve.port, TOPIC));
    ws = await shouter(serve.port);
    const peak = { rss: before.rss, heap: before.heap };
    let sampling = true;
    let closedAfterMs = NaN;
    let startedAt = Date.now();
    const sampler = (async () => {
      for (let i = 0; sampling; i++) {
        peak.rss = Math.max(peak.rss, serve.rss());
        if (i % 5 === 0) {
          const m = await serve.metrics();
          peak.heap = Math.max(peak.heap, m.get('nodejs_heap_size_used_bytes') ?? NaN);
          if (stalledCount > 0 && Number.isNaN(closedAfterMs) && m.get('tether_slow_consumer_disconnects_total') === stalledCount) {
            closedAfterMs = Date.now() - startedAt;
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Ignore the shouter's replies (there are none for shout) and broadcasts: it reads, so it never backs up.
    const payload = JSON.stringify({ data: 'x'.repeat(32 * 1024) });
    startedAt = Date.now();
    let shouts = 0;
    while (Date.now() - startedAt < SHOUT_MS) {
      const due = Math.floor(((Date.now() - startedAt) * RATE) / 1000);
      for (; shouts < due; shouts++) ws.send(`["1","${shouts + 2}","${TOPIC}","shout",${payload}]`);
      await new Promise((r) => setTimeout(r, 5));
    }
    // Wait for the stalled ones to be cut (4001, then closeGraceMs), at most 30 s.
    let cutAfterMs = NaN;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if ((await serve.metrics()).get('tether_connections') === 1) {
        cutAfterMs = Date.now() - startedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 2000));
    sampling = false;
    await sampler;
    const m = await serve.metrics();
    return {
      name,
      rss: { before: before.rss, peak: peak.rss, after: serve.rss() },
      heap: { before: before.heap, peak: peak.heap, after: m.get('nodejs_heap_size_used_bytes') ?? NaN },
      shouts,
      closed4001: m.get('tether_connections_closed_total{code="4001"}') ?? 0,
      closedAfterMs,
      cutAfterMs,
    };
  } finally {
    ws?.terminate();
    for (const s of stalled) s.destroy();
    await serve.kill();
  }
}

test('10 stalled consumers under 32 KiB shouts at 100/s: peak extra RSS per consumer within 1.5x the budget; RSS and heap after the cut printed beside a baseline', { timeout: 120_000, skip: FIGURES_ONLY }, async () => {
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const [cap, baseline, graceOnly] = await Promise.all([
    run('cap (default 1.5x budget)', STALLED, []),
    run('baseline (no stalled consumer)', 0, []),
    run('grace only (cap lifted: before the cap)', STALLED, ['--outbound-hard-cap-bytes', String(1024 * 1024 * 1024)]),
  ]);
  const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();
  const perConsumer = (f: Figures) => (f.rss.peak - baseline.rss.peak) / STALLED;
  console.log(`\nStalled consumers vs tether serve (${new Date().toISOString()}; load average before ${loadBefore}, after ${loadAfter})`);
  console.log(`${STALLED} stalled, 32 KiB shouts at ${RATE}/s for ${SHOUT_MS / 1000} s, budget ${MB(BUDGET)}, cap default ${MB(BUDGET * 1.5)}\n`);
  const secs = (ms: number) => (Number.isNaN(ms) ? '-' : `${(ms / 1000).toFixed(1)} s`);
  console.log('| server | RSS before | RSS peak | RSS after | heap before | heap peak | heap after | 4001 closes (all sent by) | all cut by | peak extra RSS per stalled consumer | RSS after minus baseline |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const f of [cap, baseline, graceOnly]) {
    const extra = f === baseline ? '-' : `${MB(perConsumer(f))} (${(perConsumer(f) / BUDGET).toFixed(2)}x budget)`;
    const left = f === baseline ? '-' : MB(f.rss.after - baseline.rss.after);
    console.log(
      `| ${f.name} | ${MB(f.rss.before)} | ${MB(f.rss.peak)} | ${MB(f.rss.after)} | ${MB(f.heap.before)} | ${MB(f.heap.peak)} | ${MB(f.heap.after)} | ${f.closed4001} (${secs(f.closedAfterMs)}) | ${secs(f.cutAfterMs)} | ${extra} | ${left} |`,
    );
  }
  for (const f of [cap, baseline, graceOnly]) {
    table.add({
      scenario: `10.3 ${f.name}`,
      sent: f.shouts,
      received: f.shouts,
      duplicates: 0,
      lost: 0,
      recoverMs: null,
      note: `rss ${MB(f.rss.before)} -> peak ${MB(f.rss.peak)} -> after ${MB(f.rss.after)}; heap ${MB(f.heap.before)} -> ${MB(f.heap.peak)} -> ${MB(f.heap.after)}; 4001 x${f.closed4001}`,
    });
  }
  assert.equal(cap.closed4001, STALLED, 'every stalled consumer was closed with 4001');
  assert.ok(perConsumer(cap) <= 1.5 * BUDGET, `peak extra per stalled consumer ${MB(perConsumer(cap))} vs 1.5x budget ${MB(1.5 * BUDGET)}`);
});
