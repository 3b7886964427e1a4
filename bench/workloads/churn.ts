/**
 * Churn: connect, join, leave, disconnect cycles as fast as the lanes allow. The server's RSS and heap are read
 * after a forced full GC before (after a warm-up) and after the cycles: growth means something per connection
 * (timer, map entry, presence entry) is not released.
 */
import type { BenchContext } from '../lib/context.ts';
import type { ChurnResult, Endpoint } from '../lib/messages.ts';
import type { Row, Table } from '../lib/report.ts';
import { sampleProcess } from '../lib/proc-stats.ts';
import type { TargetProcess } from '../lib/processes.ts';

const WARMUP_CYCLES = 1_000;
const SETTLE_MAX_MS = 5_000;

async function cycles(ctx: BenchContext, endpoint: Endpoint, total: number): Promise<ChurnResult> {
  const share = Math.ceil(total / ctx.workers.length);
  const results = await Promise.all(
    ctx.workers.map((worker, w) =>
      worker.request<ChurnResult>({
        op: 'churn',
        endpoint,
        cycles: Math.max(0, Math.min(share, total - w * share)),
        concurrency: ctx.options.churnConcurrency,
      }),
    ),
  );
  return {
    cycles: results.reduce((s, r) => s + r.cycles, 0),
    failed: results.reduce((s, r) => s + r.failed, 0),
    firstError: results.find((r) => r.firstError)?.firstError,
  };
}

/** Runs cycles and reports their wall time and the server CPU they cost (forced GCs for sampling excluded). */
async function timed(ctx: BenchContext, target: TargetProcess, endpoint: Endpoint, total: number): Promise<ChurnResult & { seconds: number; cpuMicros: number }> {
  const cpu0 = sampleProcess(target.pid).cpuMicros;
  const t0 = performance.now();
  const result = await cycles(ctx, endpoint, total);
  return { ...result, seconds: (performance.now() - t0) / 1000, cpuMicros: sampleProcess(target.pid).cpuMicros - cpu0 };
}

/** Samples once the server has seen every socket close (its last close handshakes may lag the clients'). */
async function afterLastClose(ctx: BenchContext, target: TargetProcess): Promise<Awaited<ReturnType<BenchContext['settledSample']>>> {
  const deadline = performance.now() + SETTLE_MAX_MS;
  for (;;) {
    const sample = await ctx.settledSample(target);
    if (sample.connections === 0 || performance.now() > deadline) return sample;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runChurn(ctx: BenchContext): Promise<Table> {
  const total = ctx.options.churnCycles;
  const scenario = `${total.toLocaleString('en-US')} cycles`;
  const row = (metric: string): Row => ({ scenario, metric, values: {}, notes: {} });
  const rate = row('cycles/s');
  const cpu = row('server CPU µs/cycle');
  const failed = row('failed cycles');
  const before = row('server RSS before MiB');
  const after = row('server RSS after MiB');
  const growth = row('RSS growth KiB/1k cycles');
  const lateGrowth = row('  in the 2nd half');
  const heapGrowth = row('heap growth KiB/1k cycles');
  const connectionsLeft = row('connections held after');
  const topicsLeft = row('topics held after');
  for (const kind of ctx.options.targets) {
    await ctx.withTarget(kind, 'churn', async (target, endpoint) => {
      await cycles(ctx, endpoint, Math.min(WARMUP_CYCLES, total));
      const s0 = await ctx.settledSample(target);
      const half = Math.floor(total / 2);
      const first = await timed(ctx, target, endpoint, half);
      const mid = await ctx.settledSample(target);
      const second = await timed(ctx, target, endpoint, total - half);
      const s1 = await afterLastClose(ctx, target);
      const seconds = first.seconds + second.seconds;
      const result = { cycles: first.cycles + second.cycles, failed: first.failed + second.failed, firstError: first.firstError ?? second.firstError };
      rate.values[kind] = result.cycles / seconds;
      cpu.values[kind] = (first.cpuMicros + second.cpuMicros) / Math.max(1, result.cycles);
      failed.values[kind] = result.failed;
      lateGrowth.values[kind] = (s1.rssBytes - mid.rssBytes) / 1024 / ((total - half) / 1000);
      if (result.firstError) failed.notes![kind] = result.firstError;
      before.values[kind] = s0.rssBytes / 2 ** 20;
      after.values[kind] = s1.rssBytes / 2 ** 20;
      growth.values[kind] = (s1.rssBytes - s0.rssBytes) / 1024 / (total / 1000);
      heapGrowth.values[kind] = (s1.heapUsed - s0.heapUsed) / 1024 / (total / 1000);
      connectionsLeft.values[kind] = s1.connections;
      topicsLeft.values[kind] = s1.topics;
      ctx.log(`${kind} churn: ${rate.values[kind]!.toFixed(0)} cycles/s, RSS ${before.values[kind]!.toFixed(1)} -> ${after.values[kind]!.toFixed(1)} MiB, heap ${(s0.heapUsed / 2 ** 20).toFixed(1)} -> ${(s1.heapUsed / 2 ** 20).toFixed(1)} MiB`);
    });
  }
  return {
    workload: 'churn',
    title: 'Churn: connect, join, leave, disconnect',
    rows: [rate, cpu, failed, before, after, growth, lateGrowth, heapGrowth, connectionsLeft, topicsLeft],
    footnotes: [
      `${ctx.workers.length} workers x ${ctx.options.churnConcurrency} lanes; each cycle opens a socket, joins a fresh topic, leaves it and closes with the close handshake`,
      `memory sampled after a forced full GC, before (after ${WARMUP_CYCLES} warm-up cycles), half-way and after; heap = V8 heapUsed reported by the server`,
      'RSS rises in the first half for every target as the allocator keeps freed native memory (socket buffers) for reuse; a leak keeps growing in the 2nd half and in the heap',
    ],
  };
}
