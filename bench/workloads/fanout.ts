/**
 * Fan-out: S subscribers on one topic; a publisher connection asks the server to broadcast at stepped rates.
 * Per step: deliveries per second achieved, end-to-end latency (publisher send to subscriber receive),
 * loss, and server CPU microseconds per delivered message (from /proc utime+stime).
 */
import type { BenchContext } from '../lib/context.ts';
import type { LatencyHistogram } from '../../src/ops/latency-histogram.ts';
import type { Endpoint, PublishResult, TargetKind } from '../lib/messages.ts';
import type { Row, Table } from '../lib/report.ts';
import { sampleProcess } from '../lib/proc-stats.ts';
import type { TargetProcess } from '../lib/processes.ts';

const TOPIC = 'bench:fanout';
const DRAIN_IDLE_MS = 1_000;
const DRAIN_MAX_MS = 5_000;
/** A step this bad means the server is past saturation; higher rates are not attempted. */
const SATURATED_P99_MS = 2_000;

interface StepResult {
  delivered: number;
  expected: number;
  seconds: number;
  cpuMicros: number;
  sysMicros: number;
  writtenBytes: number;
  latency: LatencyHistogram;
}

/** Waits until every expected delivery arrived or none arrived for DRAIN_IDLE_MS; `lastAt`: when the count last grew. */
export async function drain(ctx: BenchContext, expected: number): Promise<{ received: number; latency: LatencyHistogram; loopDelayP99Ms: number; lastAt: number }> {
  const started = performance.now();
  let last = -1;
  let lastChange = started;
  for (;;) {
    const stats = await ctx.stats();
    const now = performance.now();
    if (stats.received !== last) lastChange = now;
    last = stats.received;
    if (stats.received >= expected || now - lastChange > DRAIN_IDLE_MS || now - started > DRAIN_MAX_MS) return { ...stats, lastAt: lastChange };
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function step(ctx: BenchContext, target: TargetProcess, endpoint: Endpoint, subscribers: number, rate: number): Promise<StepResult> {
  await ctx.resetStats();
  const cpu0 = sampleProcess(target.pid);
  const t0 = performance.now();
  const published = await ctx.workers[0].request<PublishResult>({
    op: 'publish',
    endpoint,
    topic: TOPIC,
    perSecond: rate / subscribers,
    durationMs: ctx.options.stepMs,
    bodyBytes: ctx.options.bodyBytes,
  });
  const expected = published.acked * subscribers;
  const { received, latency } = await drain(ctx, expected);
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = sampleProcess(target.pid);
  return { delivered: received, expected, seconds, cpuMicros: cpu1.cpuMicros - cpu0.cpuMicros, sysMicros: cpu1.sysMicros - cpu0.sysMicros, writtenBytes: cpu1.writtenBytes - cpu0.writtenBytes, latency };
}

export async function runFanout(ctx: BenchContext): Promise<Table> {
  const rows: Row[] = [];
  const row = (scenario: string, metric: string): Row => {
    const r: Row = { scenario, metric, values: {}, notes: {} };
    rows.push(r);
    return r;
  };
  const plan = ctx.options.fanoutSubscribers.flatMap((subscribers) =>
    ctx.options.fanoutRates.map((rate) => {
      const scenario = `${subscribers.toLocaleString('en-US')} subs @ ${rate.toLocaleString('en-US')}/s`;
      return {
        subscribers,
        rate,
        delivered: row(scenario, 'delivered/s'),
        p50: row(scenario, 'p50 ms'),
        p95: row(scenario, 'p95 ms'),
        p99: row(scenario, 'p99 ms'),
        p99Best: row(scenario, 'p99 ms, best round'),
        max: row(scenario, 'max ms'),
        loss: row(scenario, 'loss %'),
        cpu: row(scenario, 'server CPU µs/delivery'),
        sys: row(scenario, '  of which kernel µs'),
        wire: row(scenario, 'server bytes written/delivery'),
      };
    }),
  );
  for (const subscribers of ctx.options.fanoutSubscribers) {
    await ctx.withTargets(ctx.options.targets, `fanout-${subscribers}`, async (running) => {
      for (const { endpoint, target } of running) {
        const joined = await ctx.connect(endpoint, subscribers, TOPIC);
        if (joined.failed) throw new Error(`${endpoint.kind}: ${joined.failed} subscribers failed to join: ${joined.firstError}`);
        await step(ctx, target, endpoint, subscribers, Math.min(...ctx.options.fanoutRates)); // warm-up (JIT)
      }
      const saturated = new Set<TargetKind>();
      for (const p of plan.filter((p) => p.subscribers === subscribers)) {
        const rounds = new Map<TargetKind, StepResult[]>();
        for (let round = 0; round < ctx.options.rounds; round++) {
          for (const { endpoint, target } of running) {
            const kind = endpoint.kind;
            if (saturated.has(kind)) continue;
            const r = await step(ctx, target, endpoint, subscribers, p.rate);
            rounds.set(kind, [...(rounds.get(kind) ?? []), r]);
            ctx.log(
              `${kind} ${subscribers} subs @ ${p.rate}/s round ${round + 1}: ${(r.delivered / r.seconds).toFixed(0)}/s, ` +
                `p99 ${(r.latency.quantile(0.99) ?? 0).toFixed(1)} ms, loss ${r.expected - r.delivered}, ${(r.cpuMicros / Math.max(1, r.delivered)).toFixed(2)} µs/delivery`,
            );
          }
        }
        for (const kind of ctx.options.targets) {
          const results = rounds.get(kind);
          if (!results) {
            p.delivered.notes![kind] = 'not run: saturated';
            continue;
          }
          record(kind, p, results);
          if (p.p99.values[kind]! > SATURATED_P99_MS) saturated.add(kind);
        }
      }
    });
  }
  return {
    workload: 'fanout',
    title: 'Fan-out: one topic, publish rate stepped up',
    rows,
    footnotes: [
      `the three servers run side by side (idle when not under test) and take each step in turn, ${ctx.options.rounds} rounds; each figure is the median round (loss: the worst); other work on the machine only ever adds latency, so the best round's p99 is the closest estimate of each server's own`,
      `each step publishes for ${ctx.options.stepMs} ms then waits for the deliveries to drain; delivered/s = deliveries / (publish + drain time)`,
      `payload ~${ctx.options.bodyBytes + 40} bytes JSON with the publisher's send time; latency = subscriber receive - publisher send (same monotonic clock)`,
      ...(ctx.options.compression
        ? ['--compression: permessage-deflate on in every server and client (Tether `compression: true`, deflated once per broadcast; ws and Socket.IO `perMessageDeflate: true`, deflated per socket); the body is text that zlib shrinks about 2x, a different one per message']
        : []),
      'server bytes written/delivery = the server process\'s wchar (/proc/<pid>/io: bytes handed to write syscalls, mostly socket writes) over the step divided by deliveries',
      'server CPU = utime+stime delta of the server process over the step divided by deliveries (10 ms tick resolution); the kernel part (stime) is mostly socket writes, which on loopback also carry the receiver\'s TCP processing',
      `loss = deliveries missing after the drain (publishes acknowledged x subscribers - received); a step with p99 > ${SATURATED_P99_MS} ms ends the ladder`,
    ],
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Each metric is the median over the rounds (loss: the worst round). */
function record(kind: TargetKind, p: Record<'delivered' | 'p50' | 'p95' | 'p99' | 'p99Best' | 'max' | 'loss' | 'cpu' | 'sys' | 'wire', Row>, rounds: StepResult[]): void {
  const m = (f: (r: StepResult) => number): number => median(rounds.map(f));
  p.delivered.values[kind] = m((r) => r.delivered / r.seconds);
  p.p50.values[kind] = m((r) => r.latency.quantile(0.5) ?? 0);
  p.p95.values[kind] = m((r) => r.latency.quantile(0.95) ?? 0);
  p.p99.values[kind] = m((r) => r.latency.quantile(0.99) ?? 0);
  p.p99Best.values[kind] = Math.min(...rounds.map((r) => r.latency.quantile(0.99) ?? 0));
  p.max.values[kind] = m((r) => r.latency.max);
  p.loss.values[kind] = Math.max(...rounds.map((r) => (r.expected === 0 ? 0 : (100 * (r.expected - r.delivered)) / r.expected)));
  p.cpu.values[kind] = m((r) => r.cpuMicros / Math.max(1, r.delivered));
  p.sys.values[kind] = m((r) => r.sysMicros / Math.max(1, r.delivered));
  p.wire.values[kind] = m((r) => r.writtenBytes / Math.max(1, r.delivered));
}
