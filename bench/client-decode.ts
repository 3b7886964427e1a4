/**
 * Client-side decode + dispatch of small broadcasts, messages per second on one core, for Tether's client and
 * the stock `phoenix` client fed the same frames through each one's onmessage path (fake transports, no
 * network). Run: `npm run bench:client` (a figure, not a test).
 */
import { Socket as PhoenixSocket } from 'phoenix';
import { Socket } from '../src/client/index.ts';
import type { TransportHandlers } from '../src/client/transport.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 400_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function frames(channels: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(JSON.stringify([null, null, `room:${i % channels}`, 'msg', { body: 'hello world', n: i }]));
  return out;
}

/** Tether's client on a fake transport: returns the function that delivers one frame. */
async function tetherClient(channels: number, onMessage: () => void): Promise<{ feed: (data: string) => void; close: () => void }> {
  let handlers: TransportHandlers | null = null;
  const sent: string[] = [];
  const socket = new Socket('ws://bench/socket', {
    page: false,
    heartbeatIntervalMs: 3_600_000,
    transport: (_url, _protocols, h) => {
      handlers = h;
      return { send: (d) => void sent.push(d as string), close: () => {}, bufferedAmount: 0 };
    },
  });
  socket.connect();
  await new Promise((r) => setTimeout(r, 0));
  handlers!.open();
  for (let c = 0; c < channels; c++) {
    const channel = socket.channel(`room:${c}`);
    channel.on('msg', onMessage);
    channel.join();
  }
  await new Promise((r) => setTimeout(r, 0));
  for (const f of sent) {
    const [jr, ref, topic, event] = JSON.parse(f) as string[];
    if (event === 'phx_join') handlers!.message(JSON.stringify([jr, ref, topic, 'phx_reply', { status: 'ok', response: {} }]));
  }
  const h = handlers!;
  return { feed: (data) => h.message(data), close: () => void socket.disconnect() };
}

/** The stock phoenix client on a fake WebSocket class. */
function phoenixClient(channels: number, onMessage: () => void): { feed: (data: string) => void; close: () => void } {
  let conn: FakeWebSocket | null = null;
  class FakeWebSocket {
    readyState = 0;
    binaryType = 'arraybuffer';
    sent: string[] = [];
    onopen: (() => void) | null = null;
    onmessage: ((e: { data: string }) => void) | null = null;
    onclose: ((e: object) => void) | null = null;
    onerror: ((e: object) => void) | null = null;
    constructor() {
      conn = this;
    }
    send(d: string) {
      this.sent.push(d);
    }
    close() {
      this.readyState = 3;
    }
  }
  const socket = new PhoenixSocket('ws://bench/socket', { transport: FakeWebSocket as unknown as typeof WebSocket, heartbeatIntervalMs: 3_600_000 });
  socket.connect();
  conn!.readyState = 1;
  conn!.onopen!();
  for (let c = 0; c < channels; c++) {
    const channel = socket.channel(`room:${c}`, {});
    channel.on('msg', onMessage);
    channel.join();
  }
  for (const f of conn!.sent) {
    const [jr, ref, topic, event] = JSON.parse(f) as string[];
    if (event === 'phx_join') conn!.onmessage!({ data: JSON.stringify([jr, ref, topic, 'phx_reply', { status: 'ok', response: {} }]) });
  }
  const c = conn!;
  return { feed: (data) => c.onmessage!({ data }), close: () => socket.disconnect() };
}

/** One timed pass over `input`: messages per CPU second. */
function pass(feed: (data: string) => void, input: string[], received: () => number): number {
  const before = received();
  // CPU time of this process, not wall time: on a shared machine a busy neighbour would otherwise be measured.
  const start = process.cpuUsage();
  for (let i = 0; i < input.length; i++) feed(input[i]);
  const used = process.cpuUsage(start);
  const seconds = (used.user + used.system) / 1e6;
  if (received() - before !== input.length) throw new Error(`dispatched ${received() - before} of ${input.length}`);
  return input.length / seconds;
}

const rows: string[][] = [];
for (const channels of [1, 100]) {
  const input = frames(channels, MESSAGES);
  let ours = 0;
  let theirs = 0;
  const tether = await tetherClient(channels, () => void ours++);
  const phoenix = phoenixClient(channels, () => void theirs++);
  // Rounds alternate between the two clients so a busy neighbour on a shared machine slows both alike.
  let a = 0;
  let b = 0;
  for (let round = 0; round < ROUNDS; round++) {
    a = Math.max(a, pass(tether.feed, input, () => ours));
    b = Math.max(b, pass(phoenix.feed, input, () => theirs));
  }
  tether.close();
  phoenix.close();
  rows.push([String(channels), Math.round(a).toLocaleString('en-US'), Math.round(b).toLocaleString('en-US'), `${(a / b).toFixed(2)}x`]);
}

console.log(`client decode + dispatch of small broadcasts, ${MESSAGES.toLocaleString('en-US')} frames x ${ROUNDS} rounds (best), node ${process.version}`);
console.log('| joined channels | tether msgs/s | phoenix 1.8 msgs/s | ratio |');
console.log('|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
process.exit(0);
