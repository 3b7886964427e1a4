/**
 * Cross-node fan-out through the Redis broker: 1 and 3 `room:*` server processes sharing one Redis, subscribers
 * spread round-robin over the nodes, one publisher on the first node. Prints deliveries per second and
 * p50/p99 publish-to-delivery latency for a paced run and a burst. A program that prints figures, not a test.
 *
 *   node bench/cluster-fanout.ts [--subscribers 60] [--rate 200] [--seconds 4] [--burst 2000]
 *
 * Latency is measured in this process (it both publishes and receives), so node clocks do not matter; this
 * process also decodes every delivery, so on a small machine it is part of what is measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOPIC = 'room:bench';

if (process.argv[2] === '--node') await runNode();
else await orchestrate();

/** One server process: the demo room channel on a Redis broker, its port on stdout. */
async function runNode(): Promise<void> {
  const { RedisBroker } = await import('../src/broker/redis.ts');
  const { createServer } = await import('../src/server/index.ts');
  const { roomChannel } = await import('../src/demo/room-channel.ts');
  const broker = new RedisBroker({ url: REDIS_URL, keyPrefix: process.env.PREFIX, nodeId: process.env.NODE_ID });
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

async function startNodes(n: number, prefix: string): Promise<{ procs: ChildProcess[]; ports: number[] }> {
  const procs: ChildProcess[] = [];
  const ports = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const child = spawn(process.execPath, [process.argv[1], '--node'], {
        env: { ...process.env, PREFIX: prefix, NODE_ID: `bench-${i}` },
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
  return { procs, ports };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

interface Phase {
  name: string;
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
    },
  });
  const subscribers = Number(values.subscribers);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const burst = Number(values.burst);
  const rows: (Phase & { nodes: number })[] = [];

  for (const nodes of [1, 3]) {
    const prefix = `bench${process.pid}n${nodes}:`;
    const { procs, ports } = await startNodes(nodes, prefix);
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
        const t0 = performance.now();
        for (let i = 0; i < count; i++) {
          send(i);
          await pace(i);
        }
        const expected = count * subscribers;
        const deadline = performance.now() + 30_000;
        while (delivered < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200)); // a duplicate would show up here
        const sorted = latencies.sort((a, b) => a - b);
        rows.push({ nodes, name, sent: count, expected, delivered, seconds: (last - t0) / 1000, p50: percentile(sorted, 50), p99: percentile(sorted, 99) });
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
      const { createClient } = await import('redis');
      const redis = createClient({ url: REDIS_URL });
      await redis.connect();
      for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await redis.del(keys);
      await redis.close();
    }
  }

  console.log(`cluster fan-out: ${subscribers} subscribers round-robin over the nodes, publisher on node 0, Redis ${REDIS_URL}`);
  console.log('nodes | phase           | messages | deliveries (expected) | deliveries/s | p50 ms | p99 ms');
  for (const r of rows) {
    console.log(
      `${String(r.nodes).padStart(5)} | ${r.name.padEnd(15)} | ${String(r.sent).padStart(8)} | ${`${r.delivered} (${r.expected})`.padStart(21)} | ` +
        `${Math.round(r.delivered / r.seconds).toString().padStart(12)} | ${r.p50.toFixed(1).padStart(6)} | ${r.p99.toFixed(1).padStart(6)}`,
    );
  }
}
