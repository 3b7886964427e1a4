/**
 * Why `createServer` listens with backlog 4096: 2,000 TCP connections arrive while the server's event loop is
 * busy for 1 s (as after a restart, when a fleet returns), once with Node's default backlog (511) and once
 * with 4096. Prints when the last one connected and how many listen-queue overflows the kernel counted
 * (Linux `nstat`; machine-wide, so other work on the machine adds to it). Usage: node bench/listen-backlog.ts
 */
import { execSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { loadavg } from 'node:os';

const CLIENTS = 2000;
const BUSY_MS = 1000;

function overflows(): number | null {
  try {
    const m = /TcpExtListenOverflows\s+(\d+)/.exec(execSync('nstat -az TcpExtListenOverflows', { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

for (const backlog of [511, 4096]) {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog }, () => resolve()));
  const { port } = server.address() as { port: number };
  const before = overflows();
  const started = Date.now();
  let connected = 0;
  const sockets = Array.from({ length: CLIENTS }, () => connect(port, '127.0.0.1', () => connected++).on('error', () => {}));
  const busyUntil = Date.now() + BUSY_MS;
  while (Date.now() < busyUntil) {
    // The event loop takes nothing from the accept queue meanwhile.
  }
  while (connected < CLIENTS && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 10));
  const after = overflows();
  const counted = before === null || after === null ? 'n/a' : `+${after - before}`;
  console.log(`backlog ${backlog}: ${connected}/${CLIENTS} connected, the last after ${Date.now() - started} ms; listen overflows ${counted}`);
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
}
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
