/**
 * Request/reply: C clients, each with exactly one request outstanding; round trips per second and latency.
 * The servers run side by side and take turns for several rounds and each reports its median round, so a neighbour's burst of load
 * on this shared machine does not decide a ratio.
 */
import type { BenchContext } from '../lib/context.ts';
import { LatencyHistogram } from '../../src/ops/latency-histogram.ts';
import type { ReqReplyResult, TargetKind } from '../lib/messages.ts';
import type { Row, Table } from '../lib/report.ts';
import { sampleProcess } from '../lib/proc-stats.ts';

export async function runReqReply(ctx: BenchContext): Promise<Table> {
  const { reqreplyClients: clients, reqreplyMs: durationMs } = ctx.options;
  const scenario = `${clients} clients`;
  const rate: Row = { scenario, metric: 'round trips/s', values: {} };
  const p50: Row = { scenario, metric: 'p50 ms', values: {} };
  const p99: Row = { scenario, metric: 'p99 ms', values: {} };
  const best: Row = { scenario, metric: 'round trips/s, best round', values: {} };
  const cpu: Row = { scenario, metric: 'server CPU µs/round trip', values: {} };
  const rounds = new Map<TargetKind, Array<{ perSecond: number; latency: LatencyHistogram; cpuPerTrip: number }>>();
  await ctx.withTargets(ctx.options.targets, 'reqreply', async (running) => {
    for (let round = 0; round < ctx.options.reqreplyRounds; round++) {
      for (const { endpoint, target } of running) {
        const cpu0 = sampleProcess(target.pid).cpuMicros;
        const result = await ctx.workers[0].request<ReqReplyResult>({ op: 'reqreply', endpoint, clients, durationMs });
        const cpuPerTrip = (sampleProcess(target.pid).cpuMicros - cpu0) / Math.max(1, result.roundTrips);
        const latency = new LatencyHistogram();
        latency.merge(result.latency);
        const perSecond = result.roundTrips / (durationMs / 1000);
        rounds.set(endpoint.kind, [...(rounds.get(endpoint.kind) ?? []), { perSecond, latency, cpuPerTrip }]);
        ctx.log(`${endpoint.kind} req/reply round ${round + 1}: ${perSecond.toFixed(0)}/s, p99 ${(latency.quantile(0.99) ?? 0).toFixed(2)} ms`);
      }
    }
  });
  for (const [kind, results] of rounds) {
    const median = results.sort((a, b) => a.perSecond - b.perSecond)[Math.floor((results.length - 1) / 2)];
    rate.values[kind] = median.perSecond;
    best.values[kind] = results.at(-1)!.perSecond;
    p50.values[kind] = median.latency.quantile(0.5) ?? 0;
    p99.values[kind] = median.latency.quantile(0.99) ?? 0;
    cpu.values[kind] = results.map((r) => r.cpuPerTrip).sort((a, b) => a - b)[Math.floor((results.length - 1) / 2)];
  }
  return {
    workload: 'reqreply',
    title: 'Request/reply: one outstanding request per client',
    rows: [rate, best, p50, p99, cpu],
    footnotes: [
      `${clients} clients in one load worker for ${durationMs} ms, ${ctx.options.reqreplyRounds} rounds taken in turn (servers side by side), median round shown; Tether: push \`ping\` on a joined channel -> reply ok; ws: \`{op:"ping"}\` -> \`{id}\`; Socket.IO: emit with ack`,
      'server CPU per round trip (utime+stime over the round, includes connecting the clients) is the figure least swayed by other load on the machine',
    ],
  };
}
