/**
 * `node bench/history-publish.ts [--tree DIR] [--broadcasts 4000] [--rounds 3]`: server CPU per broadcast on a
 * history-enabled topic (memory broker: publish, store, encode, write) with one V2 subscriber on loopback, for
 * three payload sizes, beside the CPU of one `JSON.stringify` of the same payload. Broadcasts go in batches of
 * 200, each read by the subscriber before the next, so the outbound cap is never near. Prints the median round
 * and the load average. `--tree` runs another checkout of the repository (e.g. an export of an older commit) to
 * compare.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import type { Payload } from '../src/protocol/frame.ts';

const { values } = parseArgs({
  options: {
    tree: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) },
    broadcasts: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '3' },
  },
});
const BATCH = 200;
const N = Math.max(BATCH, Math.floor(Number(values.broadcasts) / BATCH) * BATCH);
const ROUNDS = Number(values.rounds);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const tree = pathToFileURL(`${values.tree}/`);
const { createServer } = (await import(new URL('src/server/index.ts', tree).href)) as typeof import('../src/server/index.ts');
const server = createServer({
  port: 0,
  host: '127.0.0.1',
  channels: { 'feed:*': { join: () => ({ status: 'ok', response: {} }), history: { maxMessages: 1000 } } },
});
const { url } = await server.listen();
const ws = new WebSocket(`${url}/websocket?vsn=2.0.0`);
await new Promise((resolve) => ws.once('open', resolve));
ws.send(JSON.stringify(['1', '1', 'feed:bench', 'phx_join', {}]));
await new Promise((resolve) => ws.once('message', resolve));
let received = 0;
ws.on('message', () => received++);

const cpuMicros = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const PAYLOADS: [string, Payload][] = [
  ['small', { user: 'ada', text: 'hello there', at: 1732990000000, n: 1 }],
  ['1 KiB', { items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item ${i}`, done: i % 2 === 0 })) }],
  ['16 KiB', { rows: Array.from({ length: 300 }, (_, i) => ({ id: i, name: `row ${i}`, tags: ['a', 'b'], v: i * 1.5 })) }],
];

console.log(`${N} broadcasts per round, ${ROUNDS} rounds (after a warm-up), median; load average ${load()}`);
console.log('payload  JSON bytes  CPU µs/broadcast  CPU µs/JSON.stringify');
for (const [label, payload] of PAYLOADS) {
  const perBroadcast: number[] = [];
  const perStringify: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    received = 0;
    let spent = 0;
    for (let b = 0; b < N / BATCH; b++) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < BATCH; i++) void server.broadcast('feed:bench', 'msg', payload);
      spent += cpuMicros(t0);
      while (received < (b + 1) * BATCH) await new Promise((resolve) => setImmediate(resolve));
    }
    const s0 = process.cpuUsage();
    for (let i = 0; i < N; i++) JSON.stringify(payload);
    const stringify = cpuMicros(s0);
    if (round === 0) continue;
    perBroadcast.push(spent / N);
    perStringify.push(stringify / N);
  }
  const bytes = Buffer.byteLength(JSON.stringify(payload));
  console.log(`${label.padEnd(7)}  ${String(bytes).padStart(10)}  ${median(perBroadcast).toFixed(2).padStart(16)}  ${median(perStringify).toFixed(2).padStart(21)}`);
}
console.log(`load average at the end ${load()}`);
ws.close();
await server.close();
