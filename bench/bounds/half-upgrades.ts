/**
 * Half-sent upgrades against `tether serve`: opens N TCP connections on loopback that each write part of an
 * upgrade request and then nothing, never closing their side. Prints, over time, how many the server still
 * holds (as the peers see it: not ended by the server), the server's open descriptors and its RSS.
 *
 *   node bench/bounds/half-upgrades.ts [--tree DIR] [--label NAME] [--count 2000] [--watch-ms 15000] [-- serve flags]
 *
 * Bounded: every socket is destroyed at the end (or when the watch is over), whatever the server did.
 */
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fmt, loadAverage, rssMiB, startServe } from './serve-child.ts';

const { values, positionals } = parseArgs({
  options: {
    tree: { type: 'string', default: fileURLToPath(new URL('../..', import.meta.url)) },
    label: { type: 'string', default: 'this tree' },
    count: { type: 'string', default: '2000' },
    'watch-ms': { type: 'string', default: '15000' },
  },
  allowPositionals: true,
});
const COUNT = Number(values.count);
const WATCH_MS = Number(values['watch-ms']);

const serve = await startServe(values.tree, positionals);
const fds = () => readdirSync(`/proc/${serve.child.pid}/fd`).length;
const baseFds = fds();
const base = rssMiB(serve);
const sockets: Socket[] = [];
let ended = 0;
const half = `GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1:${serve.port}\r\nUpgrade: websocket\r\n`;
const t0 = performance.now();
for (let i = 0; i < COUNT; i++) {
  await new Promise<void>((resolve) => {
    const socket = connect({ port: serve.port, host: '127.0.0.1', allowHalfOpen: true });
    let done = false;
    const mark = () => {
      if (!done) ended++;
      done = true;
    };
    socket.on('error', mark);
    socket.once('end', mark);
    socket.once('close', mark);
    socket.once('connect', () => {
      socket.write(half);
      resolve();
    });
    socket.once('error', () => resolve());
    sockets.push(socket);
  });
}
const openedMs = performance.now() - t0;
const rows: string[] = [];
const sample = async (label: string) => {
  // RSS from /proc only: while the pending bound is full, a scrape of /metrics would itself be refused.
  rows.push(`  ${label.padEnd(22)} ${String(COUNT - ended).padStart(6)}  ${String(fds() - baseFds).padStart(8)}  ${fmt(rssMiB(serve))}`);
};
await new Promise((r) => setTimeout(r, 1000));
await sample('1 s after the last');
for (let waited = 1000; waited < WATCH_MS; ) {
  const step = Math.min(5000, WATCH_MS - waited);
  await new Promise((r) => setTimeout(r, step));
  waited += step;
  await sample(`${(waited / 1000).toFixed(0)} s after the last`);
}
for (const s of sockets) s.destroy();
await serve.stop();

console.log(`half-sent upgrades (${values.label}): ${COUNT} sockets opened in ${(openedMs / 1000).toFixed(1)} s, each wrote ${half.length} bytes of an upgrade and stopped`);
console.log(`load average ${loadAverage()}; serve flags: ${positionals.join(' ') || '(defaults)'}; server at start: ${base.toFixed(0)} MiB RSS, ${baseFds} descriptors`);
console.log('                          held  +fds held  RSS MiB');
for (const row of rows) console.log(row);
