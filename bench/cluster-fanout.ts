/**
 * Cross-node fan-out through the Redis broker: 1 and 3 `room:*` server processes sharing one Redis (and, with
 * `--backends redis,cluster`, the same on a local 3-master Redis Cluster), subscribers spread round-robin over
 * the nodes, one publisher on the first node. Prints deliveries per second, p50/p99 publish-to-delivery
 * latency for a paced run and a burst, and CPU per delivery (user + system time of the Tether processes, and
 * of the Redis processes where they are ours alone), with the load average. A program that prints figures.
 *
 *   node bench/cluster-fanout.ts [--subscribers 60] [--rate 200] [--seconds 4] [--burst 2000]
 *                                [--nodes 1,3] [--workers 0,1,2] [--backends redis,cluster]
 *
 * `--workers` runs `tether serve` itself (metrics on, dashboard off) on one port: 0 is one plain process, N is
 * `--workers N` (a primary and N workers; the subscribers and the publisher reach the workers round-robin).
 * Its CPU figure is the primary's and every worker's. `npm run bench:workers` runs just those rows.
 *
 * Latency is measured in this process (it both publishes and receives), so node clocks do not matter; this
 * process also decodes every delivery, so on a small machine it is part of what is measured. The shared Redis
 * (REDIS_URL) serves other work too: its CPU figure (INFO's used_cpu_*) includes that work.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOPIC = 'room:bench';
const CLUSTER_SEEDS = process.env.BENCH_CLUSTER;

if (process.argv[2] === '--node') await runNode();
else await orchestrate();

/** One server process: the demo room channel on a Redis broker, its port on stdout. */
async function runNode(): Promise<void> {
  const { RedisBroker } = await import('../src/broker/redis.ts');
  const { createServer } = await import('../src/server/index.ts');
  const { roomChannel } = await import('../src/demo/room-channel.ts');
  const where = CLUSTER_SEEDS ? { cluster: CLUSTER_SEEDS.split(',') } : { url: REDIS_URL };
  const broker = new RedisBroker({ ...where, keyPrefix: process.env.PREFIX, nodeId: process.env.NODE_ID });
  broker.on('error', (e) => process.stderr.write(`broker: ${e.message}\n`));
  const server = createServer({ port: 0, host: '127.0.0.1', channels: { 'room:*': roomChannel }, broker });
  const { port } = await server.listen();
  process.stdout.write(`PORT ${port}\n`);
  process.once('SIGTERM', () => {
    void server
      .close()
      .then(() => broker.close())
      .then(() => process.exit(0));
  });
}

interface Conn {
  ws: WebSocket;
  joined: Promise<void>;
}

function connect(port: number, onBroadcast: (payload: { s: number; i: number }) => void): Conn {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0`);
  const joined = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify(['1', '1', TOPIC, 'phx_join', {}])));
    ws.on('message', (data: Buffer) => {
      const [, ref, , event, payload] = JSON.parse(data.toString()) as [string | null, string | null, string, string, never];
      if (event === 'phx_reply' && ref === '1') resolve();
      else if (event === 'shout') onBroadcast(payload);
    });
  });
  return { ws, joined };
}

/** `tether serve` (workers 0: one process; N: `--workers N`) on one port; `pids` are the primary's and every worker's. */
async function startServe(workers: number, prefix: string, cluster: string | undefined): Promise<{ procs: ChildProcess[]; ports: number[]; pids: number[] }> {
  const broker = cluster ? ['--redis-cluster', cluster] : ['--redis', REDIS_URL];
  const args = ['src/cli/main.ts', 'serve', '--port', '0', ...broker, '--redis-prefix', prefix, '--no-dashboard', '--log-level', 'warn'];
  const child = spawn(process.execPath, workers > 0 ? [...args, '--workers', String(workers)] : args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const pids = [child.pid!];
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`tether serve exited with ${code}`)));
    let port = 0;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ws = /WebSocket\s+ws:\/\/[^:]+:(\d+)\//.exec(line);
      if (ws) port = Number(ws[1]);
      const pid = /ready \(pid (\d+)\)/.exec(line);
      if (pid) pids.push(Number(pid[1]));
      if (port && (workers === 0 || pids.length === workers + 1)) resolve(port);
    });
  });
  return { procs: [child], ports: [port], pids };
}

async function startNodes(n: number, prefix: string, cluster: string | undefined): Promise<{ procs: ChildProcess[]; ports: number[]; pids: number[] }> {
  const procs: ChildProcess[] = [];
  const ports = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const child = spawn(process.execPath, [process.argv[1], '--node'], {
        env: { ...process.env, PREFIX: prefix, NODE_ID: `bench-${i}`, ...(cluster ? { BENCH_CLUSTER: cluster } : {}) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      procs.push(child);
      return new Promise<number>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`node ${i} exited with ${code}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const m = /^PORT (\d+)$/.exec(line);
          if (m) resolve(Number(m[1]));
        });
      });
    }),
  );
  return { procs, ports, pids: procs.map((p) => p.pid!) };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Phase {
  name: string;
  /** CPU microseconds per delivery: Tether processes, and Redis (null when not measurable). */
  cpuTether: number;
  cpuRedis: number | null;
  sent: number;
  expected: number;
  delivered: number;
  seconds: number;
  p50: number;
  p99: number;
}

async function orchestrate(): Promise<void> {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string', default: '60' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '4' },
      burst: { type: 'string', default: '2000' },
      nodes: { type: 'string', default: '1,3' },
      workers: { type: 'string', default: '' },
      backends: { type: 'string', default: 'redis,cluster' },
    },
  });
  const list = (v: string) => v.split(',').filter((x) => x !== '').map(Number);
  // Each setup: a label for the table and how to start it.
  const setups = [
    ...list(values.nodes).map((n) => ({ label: `${n} node${n === 1 ? '' : 's'}`, nodes: n, start: (prefix: string, c?: string) => startNodes(n, prefix, c) })),
    ...list(values.workers).map((w) => ({ label: w === 0 ? 'serve' : `serve -w ${w}`, nodes: 1, start: (prefix: string, c?: string) => startServe(w, prefix, c) })),
  ];
  const backends = values.backends.split(',') as ('redis' | 'cluster')[];
  const subscribers = Number(values.subscribers);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const burst = Number(values.burst);
  const rows: (Phase & { setup: string; backend: string })[] = [];
  const loadAtStart = readFileSync('/proc/loadavg', 'utf8').trim();
  const { startRedisCluster } = await import('../test/helpers/redis-cluster.ts');
  const { createClient } = await import('redis');

  for (const backend of backends) {
    const cluster = backend === 'cluster' ? await startRedisCluster() : null;
    const redisCpu = async (): Promise<number | null> => {
      if (cluster) return cluster.nodes.reduce((sum, n) => sum + cpuSeconds(n.process.pid!), 0);
      const redis = createClient({ url: REDIS_URL });
      await redis.connect();
      const info = await redis.info('cpu');
      await redis.close();
      const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
      return get('used_cpu_user') + get('used_cpu_sys');
    };
    try {
      for (const [index, setup] of setups.entries()) {
        const { nodes } = setup;
        const prefix = `bench${process.pid}${backend}s${index}:`;
        const { procs, ports, pids } = await setup.start(prefix, cluster?.urls.slice(0, 3).join(','));
        const tetherCpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
        try {
          let latencies: number[] = [];
          let delivered = 0;
          let last = 0;
          const onBroadcast = (p: { s: number }) => {
            const now = performance.now();
            latencies.push(now - p.s);
            delivered++;
            last = now;
          };
          const subs = Array.from({ length: subscribers }, (_, i) => connect(ports[i % nodes], onBroadcast));
          const pub = connect(ports[0], () => {});
          await Promise.all([...subs, pub].map((c) => c.joined));
          let ref = 1;
          const send = (i: number) => pub.ws.send(JSON.stringify(['1', String(++ref), TOPIC, 'shout', { s: performance.now(), i }]));

          const runPhase = async (name: string, count: number, pace: (i: number) => Promise<void>) => {
            latencies = [];
            delivered = 0;
            const [cpu0, redis0] = [tetherCpu(), await redisCpu()];
            const t0 = performance.now();
            for (let i = 0; i < count; i++) {
              send(i);
              await pace(i);
            }
            const expected = count * subscribers;
            const deadline = performance.now() + 30_000;
            while (delivered < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
            await new Promise((r) => setTimeout(r, 200)); // a duplicate would show up here
            const [cpu1, redis1] = [tetherCpu(), await redisCpu()];
            const perDelivery = (seconds: number) => (seconds * 1e6) / Math.max(1, delivered);
            const sorted = latencies.sort((a, b) => a - b);
            rows.push({
              backend, setup: setup.label, name, sent: count, expected, delivered, seconds: (last - t0) / 1000, p50: percentile(sorted, 50), p99: percentile(sorted, 99),
              cpuTether: perDelivery(cpu1 - cpu0),
              cpuRedis: redis0 === null || redis1 === null ? null : perDelivery(redis1 - redis0),
            });
          };

          // Warm-up: JIT, Redis script cache, connections.
          await runPhase('warm-up', 200, async () => {});
          rows.pop();
          const intervalMs = 1000 / rate;
          const start = performance.now();
          await runPhase(`paced ${rate}/s`, Math.round(rate * seconds), async (i) => {
            const due = start + (i + 1) * intervalMs;
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          });
          await runPhase(`burst ${burst}`, burst, async (i) => {
            if (i % 100 === 99) await new Promise((r) => setImmediate(r));
          });
          for (const c of [...subs, pub]) c.ws.close();
        } finally {
          await Promise.all(
            procs.map((p) => new Promise<void>((resolve) => {
              p.removeAllListeners('exit');
              p.once('exit', () => resolve());
              p.kill('SIGTERM');
            })),
          );
          if (!cluster) {
            const redis = createClient({ url: REDIS_URL });
            await redis.connect();
            for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await redis.del(keys);
            await redis.close();
          }
        }
      }
    } finally {
      await cluster?.stop();
    }
  }

  console.log(`cluster fan-out: ${subscribers} subscribers round-robin over the nodes, publisher on node 0; one Redis ${REDIS_URL} (shared), Redis Cluster 3+3 on loopback`);
  console.log(`load average at the start: ${loadAtStart}; at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  console.log('backend | setup        | phase           | messages | deliveries (expected) | deliveries/s | p50 ms | p99 ms | Tether CPU us/delivery | Redis CPU us/delivery');
  for (const r of rows) {
    console.log(
      `${r.backend.padEnd(7)} | ${r.setup.padEnd(12)} | ${r.name.padEnd(15)} | ${String(r.sent).padStart(8)} | ${`${r.delivered} (${r.expected})`.padStart(21)} | ` +
        `${Math.round(r.delivered / r.seconds).toString().padStart(12)} | ${r.p50.toFixed(1).padStart(6)} | ${r.p99.toFixed(1).padStart(6)} | ` +
        `${r.cpuTether.toFixed(1).padStart(22)} | ${(r.cpuRedis === null ? '-' : r.cpuRedis.toFixed(2)).padStart(21)}`,
    );
  }
}
