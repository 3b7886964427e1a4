/** Request/reply: C clients, each with exactly one request outstanding; round trips per second and latency. */
import type { BenchContext } from '../lib/context.ts';
import { LOCAL_ADDRESSES } from '../lib/context.ts';
import { Histogram } from '../lib/histogram.ts';
import type { ReqReplyResult } from '../lib/messages.ts';
import type { Row, Table } from '../lib/report.ts';

export async function runReqReply(ctx: BenchContext): Promise<Table> {
  const { reqreplyClients: clients, reqreplyMs: durationMs } = ctx.options;
  const scenario = `${clients} clients`;
  const rate: Row = { scenario, metric: 'round trips/s', values: {} };
  const p50: Row = { scenario, metric: 'p50 ms', values: {} };
  const p99: Row = { scenario, metric: 'p99 ms', values: {} };
  for (const kind of ctx.options.targets) {
    await ctx.withTarget(kind, 'reqreply', async (_target, endpoint) => {
      const result = await ctx.workers[0].request<ReqReplyResult>({ op: 'reqreply', endpoint, clients, durationMs, localAddresses: LOCAL_ADDRESSES });
      const latency = new Histogram();
      latency.merge(result.latency);
      rate.values[kind] = result.roundTrips / (durationMs / 1000);
      p50.values[kind] = latency.percentile(50) / 1000;
      p99.values[kind] = latency.percentile(99) / 1000;
      ctx.log(`${kind} req/reply: ${rate.values[kind]!.toFixed(0)}/s, p99 ${p99.values[kind]!.toFixed(2)} ms`);
    });
  }
  return {
    workload: 'reqreply',
    title: 'Request/reply: one outstanding request per client',
    rows: [rate, p50, p99],
    footnotes: [
      `${clients} clients in one load worker for ${durationMs} ms; Tether: push \`ping\` on a joined channel -> reply ok; ws: \`{op:"ping"}\` -> \`{id}\`; Socket.IO: emit with ack`,
    ],
  };
}
