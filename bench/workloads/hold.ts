/**
 * Hold: N idle joined connections, more than one process may hold here (capacity levels above the cap, or
 * `--only hold --hold N` alone), spread
 * over K = ceil(N / per-process cap) server processes of each target on their own ports, each fed by a load
 * worker of its own with fresh loopback source addresses. Targets run one after another. Reports the
 * connections every server itself counts (summed), the connect rate of all K ramps together, and the summed
 * server RSS per connection. Tether's K processes are K independent `createServer`s with the in-memory broker:
 * enough for idle connections; a real cluster would share a Redis broker so broadcasts cross processes.
 */
import type { BenchContext } from '../lib/context.ts';
import type { ConnectResult } from '../lib/messages.ts';
import type { Row, Table } from '../lib/report.ts';

const MiB = 2 ** 20;
const HELD = "held (servers' own count)";

/** `total` split over `parts` shares differing by at most one. */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** The rows and footnotes of one clustered level; the capacity workload uses it for levels above the cap. */
export async function holdLevel(ctx: BenchContext, total: number): Promise<{ rows: Row[]; footnotes: string[] }> {
  const processes = Math.ceil(total / ctx.options.holdPerProcess);
  const shares = split(total, processes);
  const scenario = `${total.toLocaleString('en-US')} idle, ${processes} processes`;
  const row = (metric: string): Row => ({ scenario, metric, values: {}, notes: {} });
  const held = row(HELD);
  const rate = row('connect+join /s');
  const perConn = row('server RSS KiB/conn');
  const heap = row('  of which JS heap KiB/conn');
  const rss = row('server RSS MiB, summed');
  for (const kind of ctx.options.targets) {
    await ctx.withCluster(kind, processes, async (running, workers) => {
      const base = await Promise.all(running.map((r) => ctx.settledSample(r.target)));
      const t0 = performance.now();
      const results = await Promise.all(
        workers.map((worker, i) =>
          worker.request<ConnectResult>({
            op: 'connect',
            endpoint: running[i].endpoint,
            count: shares[i],
            topic: 'bench:idle:{i}',
            firstIndex: shares.slice(0, i).reduce((a, b) => a + b, 0),
            concurrency: 100,
          }),
        ),
      );
      const seconds = (performance.now() - t0) / 1000;
      const connected = results.reduce((s, r) => s + r.connected, 0);
      const failed = results.reduce((s, r) => s + r.failed, 0);
      const samples = await Promise.all(running.map((r) => ctx.settledSample(r.target)));
      const counted = samples.reduce((s, x) => s + x.connections, 0);
      const sum = (pick: (i: number) => number): number => shares.reduce((s, _, i) => s + pick(i), 0);
      held.values[kind] = counted;
      const perServer = samples.map((s) => s.connections.toLocaleString('en-US')).join(' + ');
      if (failed > 0) held.notes![kind] = `${failed} failed: ${results.find((r) => r.firstError)?.firstError}`;
      else if (counted !== connected) held.notes![kind] = `clients hold ${connected}; servers ${perServer}`;
      rate.values[kind] = connected / seconds;
      perConn.values[kind] = sum((i) => samples[i].rssBytes - base[i].rssBytes) / 1024 / counted;
      heap.values[kind] = sum((i) => samples[i].heapUsed - base[i].heapUsed) / 1024 / counted;
      rss.values[kind] = sum((i) => samples[i].rssBytes) / MiB;
      ctx.log(`${kind}: ${counted} held (${perServer}), ${rate.values[kind]!.toFixed(0)}/s, RSS ${rss.values[kind]!.toFixed(1)} MiB summed`);
    });
  }
  return {
    rows: [held, rate, perConn, heap, rss],
    footnotes: [
      `${scenario}: ${processes} server processes per target (${shares.map((n) => n.toLocaleString('en-US')).join(' + ')} connections), each on its own port with its own load worker and loopback source addresses; targets one after another`,
      `${HELD} = the sum of the connection counts each server reports itself after the ramp; each connection joins its own topic \`bench:idle:<i>\`, 100 in flight per worker`,
      'connect rate = connections / wall time of the K ramps running together; RSS per connection = sum over the K servers of (RSS held - RSS fresh) / held, after a forced full GC in each',
      'Tether runs K independent createServer processes with the in-memory broker (enough for idle connections; broadcasts across them would need the Redis broker)',
    ],
  };
}

export async function runHold(ctx: BenchContext): Promise<Table> {
  const { rows, footnotes } = await holdLevel(ctx, ctx.options.hold);
  return { workload: 'hold', title: 'Hold: idle joined connections over several server processes', rows, footnotes };
}
