/**
 * Long-poll next to WebSocket, on one Tether target (`--only longpoll`; opt-in): request/reply round trips per
 * second (C clients, one `ping` outstanding each: over long-poll a POST, the reply collected by the client's
 * poll) and broadcast deliveries per second (S subscribers, a WebSocket publisher offering R deliveries/s).
 * The clients of both transports run in this process, one transport after the other (fetch for long-poll, `ws`
 * for WebSocket), so both pay the same client cost; the server is its own process.
 */
import { WebSocket } from 'ws';
import { LatencyHistogram } from '../../src/ops/latency-histogram.ts';
import type { BenchContext } from '../lib/context.ts';
import type { Endpoint } from '../lib/messages.ts';
import { sampleProcess } from '../lib/proc-stats.ts';
import type { Row, Table } from '../lib/report.ts';
import { load } from '../lib/report.ts';

/** Long-poll clients cost a fetch per poll in this process: fewer than the WebSocket workloads use. */
const MAX_CLIENTS = 50;
const MAX_SUBSCRIBERS = 200;
const TRANSPORTS = ['websocket', 'longpoll'] as const;
type Transport = (typeof TRANSPORTS)[number];
type Frame = [string | null, string | null, string, string, Record<string, unknown>];

/** One Phoenix V2 client over either transport: `send` frames, `onFrame` for every frame that arrives. */
interface BenchClient {
  send(frame: Frame): void;
  onFrame: (frame: Frame) => void;
  close(): void;
}

async function openWebSocket(endpoint: Endpoint): Promise<BenchClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${endpoint.port}/socket/websocket?vsn=2.0.0`);
  const client: BenchClient = { send: (f) => ws.send(JSON.stringify(f)), onFrame: () => undefined, close: () => ws.terminate() };
  ws.on('message', (data: Buffer) => client.onFrame(JSON.parse(data.toString()) as Frame));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return client;
}

async function openLongPoll(endpoint: Endpoint): Promise<BenchClient> {
  const base = `http://127.0.0.1:${endpoint.port}/socket/longpoll`;
  const first = (await (await fetch(`${base}?vsn=2.0.0`)).json()) as { status: number; token: string };
  if (first.status !== 410) throw new Error(`long-poll session refused: ${JSON.stringify(first)}`);
  const url = `${base}?vsn=2.0.0&token=${encodeURIComponent(first.token)}`;
  let open = true;
  // Frames sent while a POST is out wait and go in the next one, as phoenix.js batches them.
  let batch: string[] = [];
  let posting = false;
  const flush = async (): Promise<void> => {
    if (posting || batch.length === 0) return;
    posting = true;
    const body = batch.join('\n');
    batch = [];
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body }).then((r) => r.text());
    posting = false;
    void flush();
  };
  const client: BenchClient = {
    send: (f) => {
      batch.push(JSON.stringify(f));
      void flush();
    },
    onFrame: () => undefined,
    close: () => {
      open = false;
    },
  };
  void (async () => {
    while (open) {
      const answer = (await (await fetch(url)).json()) as { status: number; messages?: string[] };
      if (answer.status === 410) return;
      for (const m of answer.messages ?? []) client.onFrame(JSON.parse(m) as Frame);
    }
  })();
  return client;
}

const opener: Record<Transport, (endpoint: Endpoint) => Promise<BenchClient>> = { websocket: openWebSocket, longpoll: openLongPoll };

async function joined(client: BenchClient, topic: string): Promise<void> {
  await new Promise<void>((resolve) => {
    client.onFrame = (f) => {
      if (f[3] === 'phx_reply' && f[1] === 'join') resolve();
    };
    client.send(['1', 'join', topic, 'phx_join', {}]);
  });
}

/** Each client keeps one `ping` outstanding for `durationMs`. */
async function reqReply(endpoint: Endpoint, transport: Transport, clients: number, durationMs: number): Promise<{ trips: number; latency: LatencyHistogram }> {
  const latency = new LatencyHistogram();
  const opened = await Promise.all(Array.from({ length: clients }, () => opener[transport](endpoint)));
  await Promise.all(opened.map((c, i) => joined(c, `bench:rr${i}`)));
  let trips = 0;
  const deadline = performance.now() + durationMs;
  await Promise.all(
    opened.map(
      (client, i) =>
        new Promise<void>((resolve) => {
          let ref = 0;
          let sentAt = 0;
          const next = () => {
            if (performance.now() >= deadline) return resolve();
            sentAt = performance.now();
            client.send(['1', String(++ref), `bench:rr${i}`, 'ping', {}]);
          };
          client.onFrame = (f) => {
            if (f[3] !== 'phx_reply' || f[1] !== String(ref)) return;
            trips++;
            latency.record(performance.now() - sentAt);
            next();
          };
          next();
        }),
    ),
  );
  for (const c of opened) c.close();
  return { trips, latency };
}

/** S subscribers; a WebSocket publisher asks for `rate` deliveries/s for `durationMs`; counts what arrives. */
async function deliveries(endpoint: Endpoint, transport: Transport, subscribers: number, rate: number, durationMs: number): Promise<{ received: number; expected: number; latency: LatencyHistogram }> {
  const topic = `bench:lp-fanout-${transport}`;
  const latency = new LatencyHistogram();
  const subs = await Promise.all(Array.from({ length: subscribers }, () => opener[transport](endpoint)));
  await Promise.all(subs.map((c) => joined(c, topic)));
  let received = 0;
  for (const c of subs) {
    c.onFrame = (f) => {
      if (f[3] !== 'msg') return;
      received++;
      latency.record(Date.now() - (f[4].t as number));
    };
  }
  const publisher = await openWebSocket(endpoint);
  await joined(publisher, 'bench:lp-publisher');
  const publishes = Math.max(1, Math.round((rate / subscribers) * (durationMs / 1000)));
  const started = performance.now();
  for (let n = 0; n < publishes; n++) {
    const due = started + (n * durationMs) / publishes;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    publisher.send(['1', String(n), 'bench:lp-publisher', 'publish', { topic, data: { t: Date.now(), n } }]);
  }
  const expected = publishes * subscribers;
  const settle = performance.now() + 5000;
  let last = -1;
  while (received < expected && performance.now() < settle && received !== last) {
    last = received;
    await new Promise((r) => setTimeout(r, 300));
  }
  publisher.close();
  for (const c of subs) c.close();
  return { received, expected, latency };
}

export async function runLongPoll(ctx: BenchContext): Promise<Table> {
  const clients = Math.min(ctx.options.reqreplyClients, MAX_CLIENTS);
  const subscribers = Math.min(ctx.options.fanoutSubscribers[0] ?? MAX_SUBSCRIBERS, MAX_SUBSCRIBERS);
  const rate = ctx.options.fanoutRates[0] ?? 10_000;
  const durationMs = ctx.options.reqreplyMs;
  const rows: Row[] = [];
  const footnotes: string[] = [];
  const row = (scenario: string, metric: string, value: number, note?: string) =>
    rows.push({ scenario, metric, values: { tether: value }, ...(note ? { notes: { tether: note } } : {}) });
  await ctx.withTarget('tether', 'longpoll', async (target, endpoint) => {
    const perSecond: Partial<Record<Transport, { trips: number; deliveries: number }>> = {};
    for (const transport of TRANSPORTS) {
      const loadBefore = load();
      const cpu0 = sampleProcess(target.pid).cpuMicros;
      const rr = await reqReply(endpoint, transport, clients, durationMs);
      const cpu1 = sampleProcess(target.pid).cpuMicros;
      const fan = await deliveries(endpoint, transport, subscribers, rate, durationMs);
      const trips = rr.trips / (durationMs / 1000);
      const delivered = fan.received / (durationMs / 1000);
      perSecond[transport] = { trips, deliveries: delivered };
      row(`${clients} clients, req/reply`, `round trips/s (${transport})`, trips);
      row(`${clients} clients, req/reply`, `p99 ms (${transport})`, rr.latency.quantile(0.99) ?? Number.NaN);
      row(`${clients} clients, req/reply`, `server CPU µs/round trip (${transport})`, (cpu1 - cpu0) / Math.max(1, rr.trips));
      row(`${subscribers} subscribers, ${rate}/s offered`, `deliveries/s (${transport})`, delivered, `${((100 * fan.received) / fan.expected).toFixed(1)} % of ${fan.expected} due`);
      row(`${subscribers} subscribers, ${rate}/s offered`, `p99 ms publish→receive (${transport})`, fan.latency.quantile(0.99) ?? Number.NaN);
      const line = `${transport}: ${trips.toFixed(0)} round trips/s, ${delivered.toFixed(0)} deliveries/s (${fan.received}/${fan.expected}), load average ${loadBefore} → ${load()}`;
      ctx.log(line);
      footnotes.push(line);
    }
    const ws = perSecond.websocket!;
    const lp = perSecond.longpoll!;
    row('long-poll / WebSocket', 'round trips', lp.trips / ws.trips);
    row('long-poll / WebSocket', 'deliveries', lp.deliveries / ws.deliveries);
  });
  footnotes.push(
    `clients of both transports in the bench process, one transport after the other, ${durationMs} ms each; long-poll: phoenix.js's wire (POST ndjson, one poll outstanding per client), clients capped at ${MAX_CLIENTS} and subscribers at ${MAX_SUBSCRIBERS}`,
  );
  return { workload: 'longpoll', title: `Long-poll next to WebSocket (Tether): request/reply and broadcast deliveries`, rows, footnotes };
}
