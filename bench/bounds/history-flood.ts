/**
 * The history flood of issue #10 against `tether serve`: one client joins 3 demo rooms (which keep history),
 * sends 300 shouts of 900 KiB into each, and leaves. Prints the server's RSS and heap at start, at the peak and
 * 30 s after the client left (nothing forced: no GC is triggered, so the figures include what V8 and the
 * allocator keep), then once more after a full `gc()` in the server (serve-gc.ts runs it with --expose-gc).
 *
 *   node bench/bounds/history-flood.ts [--tree DIR] [--label NAME] [--after-ms 30000] [-- extra serve flags]
 *
 * `--tree` runs another checkout of the repository (e.g. an export of the commit before the bounds) to
 * compare; extra flags after `--` go to `tether serve`.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { fmt, loadAverage, sampleMemory, startServe, type MemorySample } from './serve-child.ts';

const { values, positionals } = parseArgs({
  options: {
    tree: { type: 'string', default: fileURLToPath(new URL('../..', import.meta.url)) },
    label: { type: 'string', default: 'this tree' },
    'after-ms': { type: 'string', default: '30000' },
    shouts: { type: 'string', default: '300' },
  },
  allowPositionals: true,
});
const ROOMS = ['room:flood-a', 'room:flood-b', 'room:flood-c'];
const SHOUTS = Number(values.shouts);
const PAYLOAD = { text: 'x'.repeat(900 * 1024) };
/** Shouts in flight at once per room: enough to keep the pipe busy, few enough that the echo never stalls. */
const WINDOW = 4;

const serve = await startServe(values.tree, positionals);
const start = await sampleMemory(serve);
let peak: MemorySample = start;
const sampler = setInterval(() => {
  sampleMemory(serve).then((s) => {
    if (s.rssMiB > peak.rssMiB) peak = s;
  }, () => {});
}, 250);

const started = performance.now();
const ws = new WebSocket(`${serve.url}/websocket?vsn=2.0.0&tether=1&user=flood`, { maxPayload: 64 * 1024 * 1024 });
await new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});
let ref = 0;
const waiting = new Map<string, () => void>();
ws.on('message', (data: Buffer) => {
  // Only replies matter here; the shouts' echoes are read (and dropped) so the server never sees a slow consumer.
  if (data.length > 4096) return;
  const frame = JSON.parse(data.toString()) as [string | null, string | null, string, string, unknown];
  if (frame[3] === 'phx_reply' && frame[1] !== null) waiting.get(frame[1])?.();
});
const request = (topic: string, event: string, payload: unknown) =>
  new Promise<void>((resolve) => {
    const r = String(++ref);
    waiting.set(r, () => {
      waiting.delete(r);
      resolve();
    });
    ws.send(JSON.stringify(['1', r, topic, event, payload]));
  });
for (const room of ROOMS) await request(room, 'phx_join', {});
// A shout has no reply: an echo after each shout marks it handled, in order.
await Promise.all(
  ROOMS.map(async (room) => {
    for (let sent = 0; sent < SHOUTS; sent += WINDOW) {
      const batch = Math.min(WINDOW, SHOUTS - sent);
      for (let i = 0; i < batch; i++) ws.send(JSON.stringify(['1', null, room, 'shout', PAYLOAD]));
      await request(room, 'echo', {});
    }
  }),
);
const floodSeconds = (performance.now() - started) / 1000;
ws.close();
await new Promise((r) => ws.once('close', r));
const left = await sampleMemory(serve);
await new Promise((r) => setTimeout(r, Number(values['after-ms'])));
clearInterval(sampler);
const after = await sampleMemory(serve);
if (after.rssMiB > peak.rssMiB) peak = after;
await serve.gc();
const collected = await sampleMemory(serve);
await serve.stop();

console.log(`history flood (${values.label}): 1 client, ${SHOUTS} shouts x 900 KiB into each of ${ROOMS.length} rooms in ${floodSeconds.toFixed(1)} s, then left`);
console.log(`load average ${loadAverage()}; serve flags: ${positionals.join(' ') || '(defaults)'}`);
const row = (name: string, s: MemorySample) => console.log(`  ${name.padEnd(18)} ${fmt(s.rssMiB)}  ${fmt(s.heapUsedMiB)}  ${fmt(s.externalMiB)}`);
console.log('                       RSS MiB  heap MiB  external MiB');
row('start', start);
row('peak (sampled)', peak);
console.log(`  (VmHWM ${after.peakRssMiB.toFixed(0)} MiB)`);
row('client left', left);
row(`${(Number(values['after-ms']) / 1000).toFixed(0)} s after it left`, after);
row('then after gc()', collected);
