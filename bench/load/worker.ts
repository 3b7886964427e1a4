/**
 * A load-generator process. The runner forks several; each holds up to ~19,000 client sockets (the per-process
 * fd limit), answers the runner's IPC commands, and exits when the runner goes away.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LatencyHistogram } from '../../src/ops/latency-histogram.ts';
import { nowMicros } from '../lib/clock.ts';
import type {
  ChurnResult,
  ConnectResult,
  Endpoint,
  PublishResult,
  PublishTasksResult,
  ReqReplyResult,
  StatsResult,
  WorkerCommand,
  WorkerReply,
  WorkerRequest,
} from '../lib/messages.ts';
import { createClient, isTetherClient, type BenchClient } from './clients.ts';

const HEARTBEAT_MS = 25_000;

const held: BenchClient[] = [];
const latency = new LatencyHistogram();
/** How late this process's event loop ran (the client side of a latency figure), since the last resetStats. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let received = 0;
/** One publishing connection per server port. */
const publishers = new Map<number, BenchClient>();

function onBroadcast(sentAtMicros: number): void {
  received++;
  latency.record((nowMicros() - sentAtMicros) / 1000);
}

/** Runs `task(i)` for i in [0, count) with at most `limit` in flight. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
}

/** Runs `work`; on failure ends the client and counts the failure (keeping the first message). */
async function attempt(tally: { failed: number; firstError?: string }, client: BenchClient, work: () => Promise<void>): Promise<boolean> {
  try {
    await work();
    return true;
  } catch (err) {
    client.terminate();
    tally.failed++;
    tally.firstError ??= (err as Error).message;
    return false;
  }
}

async function connect(cmd: Extract<WorkerCommand, { op: 'connect' }>): Promise<ConnectResult> {
  const result: ConnectResult = { connected: 0, failed: 0 };
  await pool(cmd.count, cmd.concurrency, async (i) => {
    const index = cmd.firstIndex + i;
    const client = createClient(cmd.endpoint);
    client.onBroadcast = onBroadcast;
    const joined = await attempt(result, client, async () => {
      await client.open(cmd.endpoint, index);
      await client.join(cmd.topic.replace('{i}', String(index)));
    });
    if (joined) {
      held.push(client);
      result.connected++;
    }
  });
  return result;
}

/**
 * A body that compresses like application data (status records with varying numbers and ids, about 2x with
 * zlib level 6), not like one repeated character; a different one per `seq`, deterministic, JSON-string safe.
 */
// Never repeats within a run: a body seen in an earlier step could still be in a context-takeover window.
let bodySeq = Math.floor(Math.random() * 2 ** 30);

function textBody(bytes: number, seq: number): string {
  const words = ['task', 'status', 'running', 'queued', 'done', 'owner', 'progress', 'eta', 'region', 'retry'];
  // xorshift32: integer-exact, so every seq gives its own sequence.
  let seed = (0x9e3779b9 ^ Math.imul(seq + 1, 0x85ebca6b)) >>> 0 || 1;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>>= 0);
  };
  let out = '';
  while (out.length < bytes) out += `${words[next() % words.length]}=${next() % 100000} id-${next().toString(36)} `;
  return out.slice(0, bytes);
}

function payload(seq: number, body: string): string {
  return `{"ts":${nowMicros()},"seq":${seq},"body":"${body}"}`;
}

async function publisherFor(endpoint: Endpoint): Promise<BenchClient> {
  let client = publishers.get(endpoint.port);
  if (!client) {
    client = createClient(endpoint);
    await client.open(endpoint, 0);
    publishers.set(endpoint.port, client);
  }
  return client;
}

/** Publishes at a steady rate in 10 ms ticks, then waits for the outstanding acknowledgements. */
async function publish(cmd: Extract<WorkerCommand, { op: 'publish' }>): Promise<PublishResult> {
  const publisher = await publisherFor(cmd.endpoint);
  const compressible = process.env.BENCH_COMPRESSION === '1';
  const fixed = 'x'.repeat(cmd.bodyBytes);
  const result: PublishResult = { sent: 0, acked: 0 };
  const acks: Promise<void>[] = [];
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(Math.floor((elapsed / 1000) * cmd.perSecond), Math.floor((cmd.durationMs / 1000) * cmd.perSecond));
      while (result.sent < due) {
        // Compressible bodies differ per message, so context takeover cannot just point back at the last one.
        const body = compressible ? textBody(cmd.bodyBytes, bodySeq++) : fixed;
        acks.push(publisher.publish(cmd.topic, payload(result.sent, body)).then(() => void result.acked++));
        result.sent++;
      }
      if (elapsed >= cmd.durationMs) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  await Promise.allSettled(acks);
  return result;
}

/**
 * Progress reports at a steady rate over `tasks` tasks, each 10 ms tick's due events POSTed in bodies of at most
 * 100 (the endpoint's limit), requests not awaited before the next tick. `timestamp` is this machine's monotonic
 * clock in ms, so the watchers' workers can measure report-to-watcher latency (ms resolution).
 */
async function publishTasks(cmd: Extract<WorkerCommand, { op: 'publishTasks' }>): Promise<PublishTasksResult> {
  const result: PublishTasksResult = { sent: 0, accepted: 0, failedRequests: 0 };
  const url = `http://127.0.0.1:${cmd.endpoint.port}/api/publish`;
  const requests: Promise<void>[] = [];
  const post = (events: string[]) =>
    fetch(url, { method: 'POST', headers: { authorization: 'Bearer bench', 'content-type': 'application/json' }, body: `[${events.join(',')}]` }).then(
      async (res) => {
        await res.arrayBuffer();
        if (res.ok) result.accepted += events.length;
        else {
          result.failedRequests++;
          result.firstError ??= `HTTP ${res.status}`;
        }
      },
      (err: Error) => {
        result.failedRequests++;
        result.firstError ??= err.message;
      },
    );
  const total = Math.floor((cmd.durationMs / 1000) * cmd.perSecond);
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(Math.floor((elapsed / 1000) * cmd.perSecond), total);
      let batch: string[] = [];
      while (result.sent < due) {
        const n = result.sent++;
        const progress = Math.floor(n / cmd.tasks) % 101;
        batch.push(`{"type":"task_updated","task":{"task_id":"t${n % cmd.tasks}","queue":"${cmd.queue}","status":"progress","progress":${progress},"timestamp":${Math.floor(nowMicros() / 1000)}}}`);
        if (batch.length === 100) {
          requests.push(post(batch));
          batch = [];
        }
      }
      if (batch.length > 0) requests.push(post(batch));
      if (elapsed >= cmd.durationMs) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  // Bounded: a saturated server may leave requests unanswered; those count as neither accepted nor failed.
  await Promise.race([Promise.all(requests), new Promise((r) => setTimeout(r, 5_000).unref())]);
  return { ...result };
}

async function openClients(endpoint: Endpoint, count: number): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  await pool(count, 50, async (i) => {
    const client = createClient(endpoint);
    await client.open(endpoint, i);
    clients.push(client);
  });
  return clients;
}

/** Each client keeps exactly one request outstanding for the duration. */
async function reqreply(cmd: Extract<WorkerCommand, { op: 'reqreply' }>): Promise<ReqReplyResult> {
  const clients = await openClients(cmd.endpoint, cmd.clients);
  await Promise.all(clients.map((c) => c.request())); // warm-up: joins Tether's control topic
  const hist = new LatencyHistogram();
  let roundTrips = 0;
  const deadline = performance.now() + cmd.durationMs;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < deadline) {
        const t0 = nowMicros();
        await client.request();
        hist.record((nowMicros() - t0) / 1000);
        roundTrips++;
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  return { roundTrips, latency: hist.toJSON() };
}

/** Connect, join, leave, disconnect (with the close handshake) as fast as `concurrency` lanes allow. */
async function churn(cmd: Extract<WorkerCommand, { op: 'churn' }>): Promise<ChurnResult> {
  const result: ChurnResult = { cycles: 0, failed: 0 };
  await pool(cmd.cycles, cmd.concurrency, async (i) => {
    const client = createClient(cmd.endpoint);
    const topic = `bench:churn:${i}`;
    const done = await attempt(result, client, async () => {
      await client.open(cmd.endpoint, i);
      await client.join(topic);
      await client.leave(topic);
      await client.close();
    });
    if (done) result.cycles++;
  });
  return result;
}

function closeAll(): null {
  for (const client of held) client.terminate();
  held.length = 0;
  for (const client of publishers.values()) client.terminate();
  publishers.clear();
  return null;
}

async function handle(cmd: WorkerCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'connect':
      return connect(cmd);
    case 'resetStats':
      received = 0;
      latency.reset();
      loopDelay.reset();
      return null;
    case 'stats':
      return { received, latency: latency.toJSON(), loopDelayP99Ms: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0 } satisfies StatsResult;
    case 'publish':
      return publish(cmd);
    case 'publishTasks':
      return publishTasks(cmd);
    case 'reqreply':
      return reqreply(cmd);
    case 'churn':
      return churn(cmd);
    case 'closeAll':
      return closeAll();
  }
}

// Tether closes sockets that stay silent past its idle timeout, as Phoenix does; stock clients heartbeat.
setInterval(() => {
  for (const client of held) if (isTetherClient(client)) client.heartbeat();
}, HEARTBEAT_MS).unref();

process.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (result) => process.send!({ id: request.id, ok: true, result } satisfies WorkerReply),
    (err: Error) => process.send!({ id: request.id, ok: false, error: err.stack ?? err.message } satisfies WorkerReply),
  );
});
process.on('disconnect', () => process.exit(0));
