/**
 * `npm run bench:tasks [-- --watchers 1000 --rate 10000 --tasks 100 --seconds 5]`: W watchers of one queue (raw
 * `ws` clients in this process) while a producer inside the server process reports `rate` progress events per
 * second spread over `tasks` tasks, with coalescing on (10/s per task, the default) and off. Prints delivered
 * updates/s, server CPU (its own process.cpuUsage) and latency from the producer's report (`timestamp`) to the
 * watcher's receipt. Loopback only; bounded in time; prints the load average beside the figures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const { values } = parseArgs({
  options: {
    watchers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '10000' },
    tasks: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    role: { type: 'string' },
    coalesce: { type: 'string', default: 'on' },
  },
});
const WATCHERS = Number(values.watchers);
const RATE = Number(values.rate);
const TASKS = Number(values.tasks);
const SECONDS = Number(values.seconds);

if (values.role === 'server') {
  const { createServer } = await import('../src/server/index.ts');
  const { TaskHub } = await import('../src/tasks/server/index.ts');
  const hub = new TaskHub({ progressPerSecond: values.coalesce === 'on' ? 10 : false });
  const server = createServer({ port: 0, channels: hub.channels, maxConnections: WATCHERS + 100, joinsPerSecond: 1000, joinBurst: 10_000 });
  hub.attach(server);
  const { url } = await server.listen();
  process.send!({ url });
  process.on('message', async () => {
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    let sent = 0;
    // Every 10 ms, the events due by then: a steady `RATE` per second across TASKS tasks.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.floor(((performance.now() - started) / 1000) * RATE);
        for (; sent < due; sent++) {
          const id = String(sent % TASKS);
          void hub.publish({ type: 'task_updated', task: { task_id: id, queue: 'bench', status: 'progress', progress: (sent / 10) % 100, timestamp: Date.now() } });
        }
        if (performance.now() - started >= SECONDS * 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const cpu = process.cpuUsage(cpu0);
    process.send!({ produced: sent, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - started });
  });
} else {
  const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
  async function run(coalesce: 'on' | 'off') {
    const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--role', 'server', '--coalesce', coalesce, '--watchers', String(WATCHERS), '--rate', String(RATE), '--tasks', String(TASKS), '--seconds', String(SECONDS)]);
    const { url } = await new Promise<{ url: string }>((resolve) => child.once('message', resolve as never));
    let received = 0;
    const latencies: number[] = [];
    let closed = 0;
    const sockets: WebSocket[] = [];
    for (let i = 0; i < WATCHERS; i++) {
      const ws = new WebSocket(`${url}/websocket?vsn=2.0.0`);
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => {
          ws.send(JSON.stringify(['1', '1', 'tasks:bench', 'phx_join', {}]));
          resolve();
        });
        ws.once('error', reject);
      });
      ws.on('message', (data) => {
        const text = data.toString();
        if (!text.includes('task_updated')) return;
        received++;
        // One sample in 50 is enough for the percentiles and keeps this process's memory bounded.
        if (received % 50 === 0) latencies.push(Date.now() - (JSON.parse(text) as [unknown, unknown, string, string, { timestamp: number }])[4].timestamp);
      });
      ws.on('close', () => closed++);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const t0 = performance.now();
    child.send('go');
    // Bounded: a server past saturation reports nothing within SECONDS + 30 s; the row then says so (NaN).
    const report = await new Promise<{ produced: number; cpuMs: number; wallMs: number }>((resolve) => {
      const deadline = setTimeout(() => resolve({ produced: NaN, cpuMs: NaN, wallMs: NaN }), (SECONDS + 30) * 1000);
      child.once('message', (m) => {
        clearTimeout(deadline);
        resolve(m as never);
      });
    });
    const seconds = (performance.now() - t0) / 1000;
    for (const ws of sockets) ws.terminate();
    child.kill();
    latencies.sort((a, b) => a - b);
    return {
      coalesce,
      produced: report.produced,
      delivered: received,
      deliveredPerSecond: Math.round(received / seconds),
      serverCpuPercent: Math.round((report.cpuMs / report.wallMs) * 100),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      closed,
    };
  }
  console.log(`tasks bench: ${WATCHERS} watchers of one queue, ${RATE} progress/s over ${TASKS} tasks for ${SECONDS} s (+2 s drain)`);
  for (const mode of ['on', 'off'] as const) {
    const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').trim();
    const r = await run(mode);
    console.log(`coalescing ${mode.padEnd(3)}  produced ${r.produced}  delivered ${r.delivered} (${r.deliveredPerSecond}/s)  server CPU ${r.serverCpuPercent}%  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  watchers closed ${r.closed}  loadavg ${load}`);
  }
}
