/**
 * Tasks (issue 19's figure): W watchers of one queue (`tasks:bench`, spread over the load workers) while a
 * producer process reports `rate` progress updates a second over T tasks through POST /api/publish, with the
 * TaskHub coalescing progress (10 per task per second, the default) and without. Per mode: updates delivered
 * per second, server CPU, latency from the producer's report to the watcher. Tether only (the other targets
 * have no task hub).
 */
import type { BenchContext } from '../lib/context.ts';
import { LatencyHistogram } from '../../src/ops/latency-histogram.ts';
import type { PublishTasksResult, TaskProbe } from '../lib/messages.ts';
import { sampleProcess } from '../lib/proc-stats.ts';
import { LoadWorker } from '../lib/processes.ts';
import type { Row, Table } from '../lib/report.ts';
import { load } from '../lib/report.ts';
import { drain } from './fanout.ts';

const QUEUE = 'bench';
const MODES = ['on', 'off'] as const;

export async function runTasks(ctx: BenchContext): Promise<Table> {
  const { tasksWatchers: watchers, tasksRate: rate, tasksCount: tasks, tasksMs: durationMs } = ctx.options;
  const rows: Row[] = [];
  const footnotes: string[] = [];
  for (const mode of MODES) {
    const scenario = `coalescing ${mode}`;
    const row = (metric: string): Row => {
      const r: Row = { scenario, metric, values: {}, notes: {} };
      rows.push(r);
      return r;
    };
    const [accepted, delivered, perWatcher, cpu, cpuPerDelivery, p50, p99, max, serverP50, serverP99, serverLoop, clientCpu, clientLoop, producerCpu] = [
      'reports accepted/s',
      'updates delivered/s',
      '  per watcher /s',
      'server CPU % of a core',
      'server CPU µs per delivery',
      'p50 ms report→watcher',
      'p99 ms report→watcher',
      'max ms',
      '  of it in the server: p50 ms report→broadcast',
      '  of it in the server: p99 ms report→broadcast',
      'server event-loop delay p99 ms',
      'watcher processes CPU % of a core (sum)',
      'watcher event-loop delay p99 ms (worst)',
      'producer CPU % of a core',
    ].map(row);
    process.env.BENCH_TASKS = mode;
    const producer = new LoadWorker();
    try {
      await ctx.withTarget('tether', `tasks-${mode}`, async (target, endpoint) => {
        const joined = await ctx.connect(endpoint, watchers, `tasks:${QUEUE}`);
        if (joined.failed) throw new Error(`${joined.failed} watchers failed to join: ${joined.firstError}`);
        const loadBefore = load();
        await ctx.resetStats();
        await target.probe<TaskProbe>(true);
        const cpu0 = sampleProcess(target.pid);
        const cpuOf = (pids: number[]) => pids.reduce((sum, pid) => sum + sampleProcess(pid).cpuMicros, 0);
        const watcherPids = ctx.workers.map((w) => w.pid);
        const [watchers0, producer0] = [cpuOf(watcherPids), cpuOf([producer.pid])];
        const t0 = performance.now();
        const sent = await producer.request<PublishTasksResult>({ op: 'publishTasks', endpoint, queue: QUEUE, tasks, perSecond: rate, durationMs });
        // Without coalescing every accepted report goes to every watcher; with it, fewer: wait for the flow to stop.
        const stats = await drain(ctx, mode === 'off' ? sent.accepted * watchers : Number.POSITIVE_INFINITY);
        const cpu1 = sampleProcess(target.pid);
        const [watchers1, producer1] = [cpuOf(watcherPids), cpuOf([producer.pid])];
        const inside = await target.probe<TaskProbe>(false);
        const toBroadcast = new LatencyHistogram();
        toBroadcast.merge(inside.toBroadcast);
        // Up to the last delivery seen (20 ms polls), not the idle second the drain waits to be sure.
        const seconds = Math.max(durationMs, stats.lastAt - t0) / 1000;
        accepted.values.tether = sent.accepted / (durationMs / 1000);
        if (sent.failedRequests > 0) accepted.notes!.tether = `${sent.failedRequests} requests failed: ${sent.firstError}`;
        delivered.values.tether = stats.received / seconds;
        perWatcher.values.tether = stats.received / seconds / watchers;
        cpu.values.tether = ((cpu1.cpuMicros - cpu0.cpuMicros) / 1e6 / seconds) * 100;
        // What a delivery costs the server, whatever share of a core the machine's load leaves it.
        cpuPerDelivery.values.tether = (cpu1.cpuMicros - cpu0.cpuMicros) / Math.max(1, stats.received);
        p50.values.tether = stats.latency.quantile(0.5) ?? Number.NaN;
        p99.values.tether = stats.latency.quantile(0.99) ?? Number.NaN;
        max.values.tether = stats.latency.max;
        serverP50.values.tether = toBroadcast.quantile(0.5) ?? Number.NaN;
        serverP99.values.tether = toBroadcast.quantile(0.99) ?? Number.NaN;
        serverLoop.values.tether = inside.loopDelayP99Ms;
        clientCpu.values.tether = ((watchers1 - watchers0) / 1e6 / seconds) * 100;
        clientLoop.values.tether = stats.loopDelayP99Ms;
        producerCpu.values.tether = ((producer1 - producer0) / 1e6 / seconds) * 100;
        if (mode === 'off') {
          const expected = sent.accepted * watchers;
          delivered.notes!.tether = `${((100 * stats.received) / Math.max(1, expected)).toFixed(1)} % of ${expected.toLocaleString('en-US')} due`;
        }
        const line = `${scenario}: ${sent.accepted}/${sent.sent} reports accepted, ${stats.received} deliveries in ${seconds.toFixed(1)} s, server CPU ${cpu.values.tether.toFixed(0)} % (${cpuPerDelivery.values.tether.toFixed(1)} µs a delivery), p99 ${p99.values.tether?.toFixed(1)} ms (in the server ${serverP99.values.tether?.toFixed(1)} ms), watcher processes CPU ${clientCpu.values.tether.toFixed(0)} %, load average ${loadBefore} → ${load()}`;
        ctx.log(line);
        footnotes.push(line);
      });
    } finally {
      delete process.env.BENCH_TASKS;
      await producer.stop();
    }
  }
  return {
    workload: 'tasks',
    title: `Tasks: ${watchers.toLocaleString('en-US')} watchers of one queue, ${rate.toLocaleString('en-US')} progress reports/s over ${tasks} tasks`,
    rows,
    footnotes: [
      `the watchers (raw Phoenix V2 clients joined to \`tasks:${QUEUE}\`) are spread over ${ctx.options.workers} load worker processes; the producer is a process of its own POSTing the reports to /api/publish in bodies of at most 100 every 10 ms for ${durationMs} ms (requests unanswered 5 s after that are not counted), then the deliveries drain (1 s without one, 5 s at most)`,
      'coalescing on = the TaskHub default (progress: 10 per task per second, latest wins); off = `progressPerSecond: false`, every report to every watcher',
      'latency = watcher receipt - the report\'s `timestamp` (the producer stamps the shared monotonic clock in whole ms, so up to 1 ms high); with coalescing on it includes the wait in the coalescer (up to 100 ms)',
      'in the server = the report\'s `timestamp` to the hub handing the update to the fan-out of `tasks:bench` (HTTP queueing, parsing, the coalescer\'s wait); the rest of report→watcher is the write to 1,000 sockets, the kernel, and the watcher processes reading; event-loop delay = p99 of `monitorEventLoopDelay` over the run (worst of the watcher processes)',
      'delivered/s = deliveries / (publish start to the last delivery); server CPU = utime+stime of the server process over publish + drain (including the idle second that ends it), as a share of one core',
      ...footnotes,
    ],
  };
}
