/**
 * `tether bench <url>`: a load generator for any Phoenix-protocol endpoint that has the demo `room:*` contract
 * (`shout` broadcasts its payload). Subscribers are Tether client sockets; publishers are lean raw V2
 * connections that stamp each payload with its send time, so receivers measure end-to-end latency.
 */
import { InvalidArgumentError, type Command } from 'commander';
import WebSocket from 'ws';
import { Socket } from '../client/socket.ts';
import { authTokenProtocol, endpointUrl } from '../client/endpoint.ts';
import { wsTransport } from '../client/transport-ws.ts';
import { decodeV2Json, isReplyPayload } from '../protocol/index.ts';
import { formatCount } from '../dashboard/format.ts';
import { LatencyHistogram, type LatencySummary } from '../ops/latency-histogram.ts';
import { collect, normalizeEndpoint, parseParams, positiveInt, UsageError } from './connect.ts';
import { describeClose } from '../protocol/close-codes.ts';
import { ProgressLine } from './ui/progress.ts';
import { usageMessage } from './ui/usage.ts';

export interface BenchOptions {
  connections: number;
  /** Subscribers per topic; topics = ceil(connections / subscribers). */
  subscribers: number;
  /** Broadcasts per second, over all topics. */
  rate: number;
  /** Seconds of publishing. */
  duration: number;
  /** Approximate JSON payload size in bytes. */
  payload: number;
  topicPrefix: string;
  param: string[];
  token?: string;
  /** Simultaneous connection attempts while ramping up. */
  concurrency: number;
  /** How long to wait for in-flight deliveries after the last publish (ms). */
  drain: number;
  json: boolean;
}

export interface BenchResult {
  url: string;
  topics: number;
  subscribersPerTopic: number;
  connections: { requested: number; connected: number; failed: number; seconds: number; perSecond: number };
  published: number;
  publishedPerSecond: number;
  expected: number;
  delivered: number;
  deliveredPerSecond: number;
  lost: number;
  latencyMs: LatencySummary;
  errors: { connect: number; join: number; publish: number; disconnects: number };
  /** How the disconnects ended, by close code (`"4001"`) or, without one, by reason (`"heartbeat_timeout"`). */
  closes: Record<string, number>;
}

export const BenchExitCodes = { ok: 0, internal: 1, usage: 2, noConnections: 3 } as const;

const CONNECT_TIMEOUT_MS = 10_000;
const PUBLISH_TICK_MS = 5;

const now = () => performance.timeOrigin + performance.now();

/** A publishing connection: joins one topic and writes pre-framed `shout` pushes. */
class Publisher {
  errors = 0;
  readonly #ws: WebSocket;
  readonly #topicJson: string;
  #ref = 1;
  #heartbeat: NodeJS.Timeout | null = null;

  private constructor(ws: WebSocket, topic: string) {
    this.#ws = ws;
    this.#topicJson = JSON.stringify(topic);
  }

  static open(url: string, topic: string, token: string | undefined): Promise<Publisher> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, token ? ['phoenix', authTokenProtocol(token)] : []);
      const publisher = new Publisher(ws, topic);
      const timer = setTimeout(() => fail(new Error(`publisher for ${topic}: no join reply within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      ws.once('error', fail);
      ws.once('open', () => ws.send(`["1","1",${publisher.#topicJson},"phx_join",{}]`));
      ws.on('message', (data, binary) => {
        if (binary) return;
        const text = data.toString();
        // Only replies matter here; the publisher's own copies of its broadcasts are skipped unparsed.
        if (!text.includes('"phx_reply"')) return;
        const frame = decodeV2Json(text);
        const ok = isReplyPayload(frame.payload) && frame.payload.status === 'ok';
        if (frame.ref === '1') {
          if (!ok) return fail(new Error(`publisher join of ${topic} refused: ${JSON.stringify(frame.payload)}`));
          clearTimeout(timer);
          ws.off('error', fail);
          ws.on('error', () => publisher.errors++);
          publisher.#heartbeat = setInterval(() => ws.send(`[null,"hb${publisher.#ref++}","phoenix","heartbeat",{}]`), 25_000);
          resolve(publisher);
        } else if (!ok && frame.topic !== 'phoenix') {
          publisher.errors++;
        }
      });
    });
  }

  publish(payloadJson: string): void {
    // join_ref is the join's ref, "1".
    this.#ws.send(`["1","${++this.#ref}",${this.#topicJson},"shout",${payloadJson}]`);
  }

  close(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#ws.close(1000);
  }
}

/** Runs the benchmark and returns its result; progress goes to `progress` (drawn only on a terminal). */
export async function runBench(url: string, options: BenchOptions, progress: ProgressLine): Promise<BenchResult> {
  const endpoint = normalizeEndpoint(url);
  const params = parseParams(options.param);
  const topics = Math.ceil(options.connections / options.subscribers);
  const topicName = (i: number) => `${options.topicPrefix}-${i}`;
  const histogram = new LatencyHistogram();
  const errors = { connect: 0, join: 0, publish: 0, disconnects: 0 };
  const closes = new Map<string, number>();
  let delivered = 0;
  let lastDelivery = 0;
  /** Set before the sockets are closed on purpose, so those closes are not counted as disconnects. */
  let finishing = false;

  // Connect subscribers, `concurrency` at a time; connection i joins topic floor(i / subscribers).
  const sockets: Socket[] = [];
  const connectStart = now();
  let nextIndex = 0;
  let connected = 0;
  const connectOne = async (i: number) => {
    const socket = new Socket(endpoint, { params, authToken: options.token, transport: wsTransport() });
    sockets.push(socket);
    const channel = socket.channel(topicName(Math.floor(i / options.subscribers)));
    channel.on('shout', (payload) => {
      delivered++;
      const at = now();
      lastDelivery = at;
      const sent = (payload as { t?: unknown }).t;
      if (typeof sent === 'number') histogram.record(at - sent);
    });
    let timer: NodeJS.Timeout | undefined;
    // A refused upgrade (401/403) ends the attempt at once instead of waiting out the client's retries.
    const refused = new Promise<{ status: 'refused' }>((resolve) =>
      socket.on('state', (t) => (t.reason === 'auth_rejected' || t.to === 'failed') && resolve({ status: 'refused' })),
    );
    socket.connect();
    const result = await Promise.race([
      channel.join(),
      refused,
      new Promise<{ status: 'timeout' }>((resolve) => (timer = setTimeout(() => resolve({ status: 'timeout' }), CONNECT_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (result.status === 'ok') {
      connected++;
      let opened = true;
      socket.on('state', (t) => {
        if (opened && t.from === 'open' && !finishing) {
          errors.disconnects++;
          const how = t.detail.code === undefined ? t.reason : String(t.detail.code);
          closes.set(how, (closes.get(how) ?? 0) + 1);
        }
        opened = t.to === 'open';
      });
    } else {
      if (socket.stats().connectedSince === null) errors.connect++;
      else errors.join++;
      await socket.disconnect();
    }
  };
  const ramp = setInterval(() => progress.update({ fraction: nextIndex / options.connections, detail: `connecting ${connected}/${options.connections}` }), 200);
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency, options.connections) }, async () => {
      while (nextIndex < options.connections) await connectOne(nextIndex++);
    }),
  );
  clearInterval(ramp);
  const connectSeconds = (now() - connectStart) / 1000;

  const publishers: Publisher[] = [];
  let published = 0;
  let publishStart = now();
  try {
    if (connected > 0) {
      const wsUrl = endpointUrl(endpoint, params, '2.0.0');
      publishers.push(...(await Promise.all(Array.from({ length: topics }, (_, i) => Publisher.open(wsUrl, topicName(i), options.token)))));
      const padding = 'x'.repeat(Math.max(0, options.payload - 30));
      const durationMs = options.duration * 1000;
      publishStart = now();
      await new Promise<void>((resolve) => {
        let lastDraw = 0;
        const tick = setInterval(() => {
          const elapsed = now() - publishStart;
          const due = Math.min(Math.floor((options.rate * Math.min(elapsed, durationMs)) / 1000), Math.round((options.rate * durationMs) / 1000));
          while (published < due) {
            publishers[published % topics].publish(`{"t":${now()},"p":"${padding}"}`);
            published++;
          }
          if (elapsed - lastDraw >= 200) {
            lastDraw = elapsed;
            const rate = delivered / Math.max(0.001, elapsed / 1000);
            progress.update({ fraction: elapsed / durationMs, detail: `${(elapsed / 1000).toFixed(1)}s / ${options.duration}s · sent ${formatCount(published)} · delivered ${formatCount(Math.round(rate))}/s` });
          }
          if (elapsed >= durationMs) {
            clearInterval(tick);
            resolve();
          }
        }, PUBLISH_TICK_MS);
      });
      // Wait for stragglers: until everything expected arrived or the drain window passes.
      const drainUntil = now() + options.drain;
      while (delivered < expectedDeliveries(published, options, connected) && now() < drainUntil) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } finally {
    finishing = true;
    progress.done();
    for (const p of publishers) errors.publish += p.errors;
    for (const p of publishers) p.close();
    await Promise.all(sockets.map((s) => s.disconnect()));
  }

  const expected = expectedDeliveries(published, options, connected);
  const activeSeconds = Math.max(0.001, ((lastDelivery || now()) - publishStart) / 1000);
  return {
    url: endpoint,
    topics,
    subscribersPerTopic: options.subscribers,
    connections: {
      requested: options.connections,
      connected,
      failed: options.connections - connected,
      seconds: connectSeconds,
      perSecond: connected / Math.max(0.001, connectSeconds),
    },
    published,
    publishedPerSecond: published / options.duration,
    expected,
    delivered,
    deliveredPerSecond: delivered / activeSeconds,
    lost: Math.max(0, expected - delivered),
    latencyMs: histogram.summary(),
    errors,
    closes: Object.fromEntries(closes),
  };
}

/** Every published message reaches each connected subscriber of its topic (publishes go round robin). */
function expectedDeliveries(published: number, options: BenchOptions, connected: number): number {
  const topics = Math.ceil(options.connections / options.subscribers);
  if (connected === options.connections) {
    let total = 0;
    for (let t = 0; t < topics; t++) {
      const perTopic = Math.min(options.subscribers, options.connections - t * options.subscribers);
      total += Math.floor(published / topics + (t < published % topics ? 1 : 0)) * perTopic;
    }
    return total;
  }
  // Some subscribers failed to join: estimate with the mean subscribers per topic actually connected.
  return Math.round((published * connected) / topics);
}

export function formatResult(r: BenchResult, options: BenchOptions): string {
  const ms = (v: number | null) => (v === null ? '–' : `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`);
  const l = r.latencyMs;
  return [
    `tether bench ${r.url}`,
    `  load        ${r.connections.requested} connections, ${r.topics} topic(s) × ${r.subscribersPerTopic} subscribers, ` +
      `${options.rate} msg/s for ${options.duration} s, ~${options.payload}-byte payloads`,
    `  connected   ${r.connections.connected}/${r.connections.requested} in ${r.connections.seconds.toFixed(2)} s ` +
      `(${formatCount(Math.round(r.connections.perSecond))}/s)`,
    `  published   ${formatCount(r.published)} (${formatCount(Math.round(r.publishedPerSecond))} msg/s)`,
    `  delivered   ${formatCount(r.delivered)} of ${formatCount(r.expected)} expected, ` +
      `${formatCount(Math.round(r.deliveredPerSecond))} msg/s, lost ${formatCount(r.lost)}`,
    `  latency     p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`,
    `  errors      connect ${r.errors.connect}, join ${r.errors.join}, publish ${r.errors.publish}, disconnects ${r.errors.disconnects}`,
    ...Object.entries(r.closes).map(([how, n]) => `  closed      ${n} × ${/^\d+$/.test(how) ? describeClose(Number(how)) : how}`),
  ].join('\n');
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number.');
  return n;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('load-test any Phoenix-protocol endpoint with the room:* contract (shout broadcasts its payload)')
    .argument('<url>', 'endpoint, e.g. ws://127.0.0.1:4000/socket')
    .option('-c, --connections <n>', 'subscriber connections', positiveInt, 100)
    .option('-s, --subscribers <n>', 'subscribers per topic (topics = connections / subscribers)', positiveInt, 100)
    .option('-r, --rate <n>', 'broadcasts per second, over all topics', positiveNumber, 100)
    .option('-d, --duration <s>', 'seconds of publishing', positiveNumber, 10)
    .option('--payload <bytes>', 'approximate payload size', positiveInt, 64)
    .option('--topic-prefix <prefix>', 'topics are PREFIX-0, PREFIX-1, ...', 'room:bench')
    .option('--param <key=value>', 'connect param for every connection, repeatable', collect, [])
    .option('--token <token>', "Phoenix authToken for every connection")
    .option('--concurrency <n>', 'simultaneous connection attempts while ramping up', positiveInt, 50)
    .option('--drain <ms>', 'wait this long after the last publish for deliveries still in flight', positiveInt, 2000)
    .option('--json', 'print the result as one JSON object', false)
    .addHelpText('after', '\nexit codes: 0 completed (see lost and errors), 1 failed, 2 usage, 3 no subscriber could connect')
    .action(async (url: string, options: BenchOptions) => {
      const progress = new ProgressLine(process.stderr);
      let result: BenchResult;
      try {
        result = await runBench(url, options, progress);
      } catch (err) {
        const message = (err as Error).message;
        process.stderr.write(err instanceof UsageError ? usageMessage('tether bench', message) : `tether bench: ${message}\n`);
        process.exitCode = err instanceof UsageError ? BenchExitCodes.usage : BenchExitCodes.internal;
        return;
      }
      process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${formatResult(result, options)}\n`);
      process.exitCode = result.connections.connected === 0 ? BenchExitCodes.noConnections : BenchExitCodes.ok;
    });
}
