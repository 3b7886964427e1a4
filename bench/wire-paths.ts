/**
 * `node bench/wire-paths.ts [--subscribers 1000] [--frames 200] [--rounds 6] [--bytes 100]`: the cost of the
 * two ways a shared broadcast frame reaches a ws socket (src/server/ws-wire.ts), measured in the same process
 * taking turns: `raw` (framed once, one write per socket) and `public` (payload bytes encoded once,
 * `ws.send` frames per socket). Prints server CPU µs per delivery (user+system over the send loop and the
 * drain) for each round, the median, and the load average. The subscribers live in a child process.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { sharedFrame } from '../src/server/transport.ts';
import { writeShared, type WireMode } from '../src/server/ws-wire.ts';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    frames: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '6' },
    bytes: { type: 'string', default: '100' },
    child: { type: 'string' },
  },
});

if (values.child !== undefined) {
  // Subscriber side: open N sockets, count frames, report totals on request.
  const [url, n] = values.child.split(',');
  let received = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < Number(n); i++) {
    const ws = new WebSocket(url);
    ws.on('message', () => received++);
    sockets.push(ws);
    await new Promise((r) => ws.once('open', r));
  }
  process.send!({ type: 'open' });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'count') process.send!({ type: 'count', received });
    if (m.type === 'exit') process.exit(0);
  });
} else {
  const subscribers = Number(values.subscribers);
  const frames = Number(values.frames);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, clientTracking: true });
  await new Promise((r) => wss.once('listening', r));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const child = fork(new URL(import.meta.url).pathname, ['--child', `${url},${subscribers}`], { execArgv: process.execArgv });
  type Reply = { type: string; received?: number };
  const next = (type: string) =>
    new Promise<Reply>((resolve) => {
      const on = (m: Reply) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
    });
  await next('open');
  const sockets = [...wss.clients];
  let expected = 0;
  const payload = JSON.stringify({ data: 'x'.repeat(Math.max(0, Number(values.bytes) - 12)) });
  const results: Record<WireMode, number[]> = { raw: [], public: [] };
  const load = () => readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');
  console.log(`wire paths: ${subscribers} subscribers, ${frames} broadcasts of ${payload.length} bytes per round; load ${load()}`);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of (round % 2 === 0 ? ['raw', 'public'] : ['public', 'raw']) as WireMode[]) {
      const cpu = process.cpuUsage();
      for (let f = 0; f < frames; f++) {
        // A fresh frame per broadcast, as fan-out makes one per message: the first socket pays the encoding.
        const frame = sharedFrame(`${payload.slice(0, -2)}${f}"}`);
        for (const ws of sockets) writeShared(ws, frame, mode);
        // Let the sockets drain between broadcasts, as a publishing server would.
        if (f % 10 === 9) await new Promise((r) => setImmediate(r));
      }
      expected += frames * sockets.length;
      for (;;) {
        child.send({ type: 'count' });
        if (((await next('count')).received ?? 0) >= expected) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const used = process.cpuUsage(cpu);
      results[mode].push((used.user + used.system) / (frames * sockets.length));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of ['raw', 'public'] as WireMode[]) {
    console.log(`${mode.padEnd(6)} µs/delivery: ${results[mode].map((x) => x.toFixed(2)).join(' ')}  median ${median(results[mode]).toFixed(2)}`);
  }
  console.log(`public / raw (median): ${(median(results.public) / median(results.raw)).toFixed(2)}x; load ${load()}`);
  child.send({ type: 'exit' });
  wss.close();
  for (const ws of sockets) ws.terminate();
}
