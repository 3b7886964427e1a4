/**
 * `node bench/faulty-link.ts`: what the faulty link costs and what it holds. Pass-through throughput of one TCP
 * stream through the link against the same stream direct (ratio in the same run), and, with the link black-holed
 * while a sender writes 64 MiB, the bytes the link holds and the process's RSS growth (the cap at work).
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createFaultyLink } from '../src/testing/faulty-link.ts';

const MiB = 1024 * 1024;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function sink(): Promise<{ port: number; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server = createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, received: () => received, close: () => new Promise((r) => server.close(() => r())) };
}

/** Sends `bytes` to `port` and resolves with MiB/s once the sink has them all. */
async function throughput(port: number, target: { received: () => number }, bytes: number): Promise<number> {
  const start = target.received();
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const chunk = Buffer.alloc(64 * 1024, 1);
  const t0 = performance.now();
  for (let sent = 0; sent < bytes; sent += chunk.length) if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
  while (target.received() - start < bytes) await new Promise((r) => setImmediate(r));
  const seconds = (performance.now() - t0) / 1000;
  socket.destroy();
  return bytes / MiB / seconds;
}

const target = await sink();
const link = await createFaultyLink({ target: target.port });
const SIZE = 256 * MiB;
console.log(`load average ${loadavg()}`);
for (let run = 1; run <= 3; run++) {
  const direct = await throughput(target.port, target, SIZE);
  const through = await throughput(link.port, target, SIZE);
  console.log(`run ${run}: direct ${direct.toFixed(0)} MiB/s, through the link ${through.toFixed(0)} MiB/s, ratio ${(through / direct).toFixed(2)}`);
}

link.set('blackhole');
const rss0 = process.memoryUsage().rss;
const sender = connect(link.port, '127.0.0.1');
await new Promise((r) => sender.once('connect', r));
sender.on('error', () => {});
sender.write(Buffer.alloc(64 * MiB, 2));
await new Promise((r) => setTimeout(r, 1500));
const held = link.stats().heldBytes;
console.log(
  `blackhole, 64 MiB written: link holds ${(held / MiB).toFixed(2)} MiB (maxHeldBytes 1 MiB), sender still buffers ${(sender.writableLength / MiB).toFixed(1)} MiB, ` +
    `RSS +${((process.memoryUsage().rss - rss0) / MiB).toFixed(1)} MiB (the sender's 64 MiB buffer included); load average ${loadavg()}`,
);
sender.destroy();
await link.close();
await target.close();
