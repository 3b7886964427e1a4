/**
 * examples/task-queue: a Tether server with the task topics and the BullMQ bridge, a page with progress bars, a
 * BullMQ worker that reports progress and a producer, in one process. `startExample` is what the browser test runs.
 */
import { createServer as createHttpServer } from 'node:http';
import { Queue, Worker } from 'bullmq';
import { build } from 'esbuild';
import { createClient } from 'redis';
import { createServer, type TetherServer } from '../../src/server/index.ts';
import { RedisBroker } from '../../src/broker/index.ts';
import { BullMQBridge, bullConnection, RedisSnapshotStore, TaskHub } from '../../src/tasks/server/index.ts';

export interface ExampleOptions {
  redisUrl: string;
  port?: number;
  queue?: string;
  /** Jobs the producer adds; 0 adds none. Default 20. */
  jobs?: number;
  /** Key prefix of Tether's Redis keys and BullMQ's. */
  prefix?: string;
  /** Milliseconds between a job's progress steps. Default 150. */
  stepMs?: number;
}

/** Resolves once Redis answers; rejects with a plain message when it does not. */
export async function checkRedis(url: string): Promise<void> {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch {
    throw new Error(`Redis is not reachable at ${url}: start one (redis-server) or set REDIS_URL`);
  } finally {
    if (client.isOpen) await client.close();
  }
}

export async function startExample(options: ExampleOptions): Promise<{ url: string; server: TetherServer; stop(): Promise<void> }> {
  await checkRedis(options.redisUrl);
  const queueName = options.queue ?? 'demo-tasks';
  const prefix = options.prefix ?? 'task-example:';
  const bullPrefix = `${prefix.replace(/:$/, '')}-bull`;
  const script = await build({ entryPoints: [new URL('./page.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'browser', write: false, external: ['ws', 'node:*'], logLevel: 'warning' });
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Tether task queue</title>
<style>body{font:14px system-ui;margin:24px}li{list-style:none;margin:2px 0}.completed .status{color:green}.failed .status{color:#c00}progress{width:240px}</style></head>
<body data-queue="${queueName}"><h1>Queue ${queueName}</h1><p>link: <b id="link">connecting</b></p><p id="counters"></p><ul id="notes"></ul><ul id="tasks"></ul>
<script type="module" src="/page.js"></script></body></html>`;
  const http = createHttpServer((req, res) => {
    if (req.url === '/page.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script.outputFiles[0]!.text);
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    res.writeHead(404).end();
  });
  const broker = new RedisBroker({ url: options.redisUrl, keyPrefix: prefix });
  const hub = new TaskHub({ store: new RedisSnapshotStore({ url: options.redisUrl, keyPrefix: prefix }) });
  const server = createServer({ httpServer: http, channels: hub.channels, broker });
  hub.attach(server);
  await new Promise<void>((resolve) => http.listen(options.port ?? 4000, '127.0.0.1', resolve));
  await server.listen();
  const bridge = new BullMQBridge({ hub, queues: [queueName], redisUrl: options.redisUrl, bullPrefix, keyPrefix: prefix, nodeId: broker.nodeId, statusIntervalMs: 250 });
  await bridge.start();

  const connection = bullConnection(options.redisUrl);
  const queue = new Queue(queueName, { connection, prefix: bullPrefix });
  const stepMs = options.stepMs ?? 150;
  const worker = new Worker(
    queueName,
    async (job) => {
      for (let p = 10; p <= 100; p += 10) {
        await new Promise((resolve) => setTimeout(resolve, stepMs));
        if (p === 70 && (job.data as { fail?: boolean }).fail) throw new Error('the worker gave up at 70%');
        await job.updateProgress(p);
      }
    },
    { connection, prefix: bullPrefix, concurrency: 5 },
  );
  const jobs = options.jobs ?? 20;
  if (jobs > 0) await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'demo', data: { fail: i % 7 === 6 }, opts: { jobId: `job-${i + 1}` } })));
  const address = http.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/`,
    server,
    async stop() {
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      await bridge.close();
      await hub.close();
      await server.close();
      await broker.close();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
