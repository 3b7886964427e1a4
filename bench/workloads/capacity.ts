/**
 * Capacity: N idle connections, each joined to its own topic, held by one server process (levels above the fd
 * limit of one process: by several, see hold.ts). Per level: the
 * connect rate of the increment (open + join acknowledged) and the server's RSS per connection after a full GC
 * (RSS at the level minus RSS of the idle, freshly started server, divided by N).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context.ts';
import { FD_LIMIT, MAX_SERVER_CONNECTIONS } from '../lib/limits.ts';
import type { Row, Table } from '../lib/report.ts';
import { holdLevel } from './hold.ts';

export async function runCapacity(ctx: BenchContext): Promise<Table> {
  const requested = ctx.options.capacity;
  const single = requested.filter((n) => n <= FD_LIMIT);
  const clustered = [...new Set(requested.filter((n) => n > FD_LIMIT))].sort((a, b) => a - b);
  const levels = [...new Set(single.map((n) => Math.min(n, MAX_SERVER_CONNECTIONS)))].sort((a, b) => a - b);
  const rows = new Map<number, { rate: Row; perConn: Row; heap: Row; rss: Row }>();
  for (const n of levels) {
    const scenario = `${n.toLocaleString('en-US')} idle`;
    rows.set(n, {
      rate: { scenario, metric: 'connect+join /s', values: {}, notes: {} },
      perConn: { scenario, metric: 'server RSS KiB/conn', values: {}, notes: {} },
      heap: { scenario, metric: '  of which JS heap KiB/conn', values: {}, notes: {} },
      rss: { scenario, metric: 'server RSS MiB', values: {}, notes: {} },
    });
  }
  for (const kind of ctx.options.targets) {
    await ctx.withTarget(kind, 'capacity', async (target, endpoint) => {
      const base = await ctx.settledSample(target);
      let held = 0;
      for (const n of levels) {
        const row = rows.get(n)!;
        const t0 = performance.now();
        const result = await ctx.connect(endpoint, n - held, 'bench:idle:{i}', held);
        const seconds = (performance.now() - t0) / 1000;
        held += result.connected;
        if (result.failed > 0) {
          row.rate.notes![kind] = `${result.failed} failed: ${result.firstError}`;
          ctx.log(`${kind}: ${result.failed} of ${n} connections failed (${result.firstError}); stopping the ramp`);
          break;
        }
        const sample = await ctx.settledSample(target);
        row.rate.values[kind] = result.connected / seconds;
        row.perConn.values[kind] = (sample.rssBytes - base.rssBytes) / 1024 / n;
        row.heap.values[kind] = (sample.heapUsed - base.heapUsed) / 1024 / n;
        row.rss.values[kind] = sample.rssBytes / 1024 / 1024;
        if (ctx.options.heapSnapshot && n === levels.at(-1)) {
          mkdirSync(ctx.profileDir, { recursive: true });
          await target.heapSnapshot(join(ctx.profileDir, `${kind}-capacity-${n}.heapsnapshot`));
        }
        ctx.log(`${kind}: ${n} joined, ${(result.connected / seconds).toFixed(0)}/s, RSS ${(sample.rssBytes / 2 ** 20).toFixed(1)} MiB`);
      }
    });
  }
  const footnotes = [
    'each connection joins its own topic `bench:idle:<i>`; connect rate counts open + join acknowledged, 100 in flight per worker',
    'RSS per connection = (RSS at N - RSS of the fresh server) / N, both after a forced full GC in the server; JS heap the same with V8 heapUsed (the rest is native: socket buffers, libuv handles, allocator slack)',
  ];
  const capped = single.filter((n) => n > MAX_SERVER_CONNECTIONS);
  if (capped.length) {
    footnotes.push(
      `${capped.map((n) => n.toLocaleString('en-US')).join(', ')} requested but capped at ${MAX_SERVER_CONNECTIONS.toLocaleString('en-US')}: ` +
        `one process may hold at most ${FD_LIMIT.toLocaleString('en-US')} file descriptors here (hard limit, not raisable without privileges)`,
    );
  }
  const clusteredRows: Row[] = [];
  for (const n of clustered) {
    const level = await holdLevel(ctx, n);
    clusteredRows.push(...level.rows);
    footnotes.push(...level.footnotes.filter((f) => !footnotes.includes(f)));
  }
  if (clustered.length) {
    footnotes.push(`levels above the ${FD_LIMIT.toLocaleString('en-US')}-descriptor limit of one process run over several server processes (see the rows' process count)`);
  }
  return {
    workload: 'capacity',
    title: 'Capacity: idle joined connections',
    rows: [...[...rows.values()].flatMap((r) => [r.rate, r.perConn, r.heap, r.rss]), ...clusteredRows],
    footnotes,
  };
}
