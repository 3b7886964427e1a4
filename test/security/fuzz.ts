/**
 * `npm run fuzz -- --seconds 60 [--connections 6] [--long-poll 2] [--seed N] [--target serve|inproc]`: a long live fuzz
 * (`--long-poll`: long-poll fuzz peers beside the WebSocket connections).
 * `serve` (default) runs `tether serve` as a child process (a crash is that process exiting; it is restarted on
 * the same port and the run goes on); `inproc` runs the probe server in this process (a crash is an uncaught
 * exception). Prints frames sent, crashes, close codes seen, the well-behaved client's round trips, and the
 * server's RSS (and heap) before and after. Exits 1 when anything crashed or the well-behaved client missed a
 * reply. `--rooms history` gives the in-process `room:*` the history `tether serve` keeps (ROOM_HISTORY), to
 * compare retained memory with and without it; in-process heap figures are taken after a forced GC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { recoverableRoomChannel } from '../../src/demo/room-channel.ts';
import { createServer } from '../../src/server/index.ts';
import { formatCounts, fuzzServer } from './fuzz-engine.ts';
import { probeChannels } from './probe-channel.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '6' },
    'long-poll': { type: 'string', default: '2' },
    seed: { type: 'string' },
    target: { type: 'string', default: 'serve' },
    rooms: { type: 'string', default: 'plain' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const longPoll = Number(values['long-poll']);
const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
if (!(seconds > 0) || !(connections > 0) || !(longPoll >= 0) || !['serve', 'inproc'].includes(values.target!) || !['plain', 'history'].includes(values.rooms!)) {
  console.error('usage: npm run fuzz -- --seconds N [--connections N] [--long-poll N] [--seed N] [--target serve|inproc] [--rooms plain|history]');
  process.exit(2);
}

const MiB = 1024 * 1024;
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Resident set size of a process from /proc (Linux), or null elsewhere. */
function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

interface Target {
  url: string;
  rss(): number | null;
  /** Heap in use: the server's own gauge (serve), or this process after a forced GC (inproc). */
  heap(): Promise<number | null>;
  crashes(): number;
  /** Error lines the server logged (serve) or error-hook calls (inproc). */
  errorsReported(): number;
  describe: string;
  stop(): Promise<void>;
}

/** `tether serve` on a fixed port, restarted after a crash so the run goes on. */
async function serveTarget(): Promise<Target> {
  let crashes = 0;
  let errorLines = 0;
  let child: ChildProcess;
  let stopping = false;
  let port = 0;
  const start = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const { REDIS_URL: _ignored, ...env } = process.env;
      child = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--port', String(port), '--log-level', 'error', '--log-format', 'json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const timer = setTimeout(() => reject(new Error(`tether serve printed no URL:\n${out}`)), 15_000);
      const onData = (d: Buffer) => {
        const text = d.toString();
        out += text;
        errorLines += (text.match(/"level":50/g) ?? []).length;
        const m = /WebSocket\s+(ws:\/\/\S+)\/websocket/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code, signal) => {
        if (stopping) return;
        crashes++;
        console.error(`tether serve exited during the fuzz (code ${code}, signal ${signal}); last output:\n${out.slice(-2000)}`);
        void start().catch((err: Error) => console.error(err.message));
      });
    });
  const url = await start();
  port = Number(new URL(url.replace('ws:', 'http:')).port);
  return {
    url,
    rss: () => rssOf(child.pid!),
    heap: async () => {
      try {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const m = /^nodejs_heap_size_used_bytes (\d+)/m.exec(text);
        return m ? Number(m[1]) : null;
      } catch {
        return null;
      }
    },
    crashes: () => crashes,
    errorsReported: () => errorLines,
    describe: `tether serve (pid ${child!.pid}) ${url}`,
    stop: async () => {
      stopping = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The probe server in this process; an uncaught exception counts as a crash and the run goes on. */
async function inprocTarget(): Promise<Target> {
  let crashes = 0;
  let errors = 0;
  process.on('uncaughtException', (err) => {
    crashes++;
    console.error('uncaught exception:', err);
  });
  const server = createServer({
    port: 0,
    host: '127.0.0.1',
    channels: values.rooms === 'history' ? { ...probeChannels(), 'room:*': recoverableRoomChannel } : probeChannels(),
  });
  server.observe({ error: () => void errors++ });
  const { url } = await server.listen();
  return {
    url,
    rss: () => process.memoryUsage().rss,
    heap: async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) return null;
      gc();
      return process.memoryUsage().heapUsed;
    },
    crashes: () => crashes,
    errorsReported: () => errors,
    describe: `in-process probe server (${values.rooms === 'history' ? 'room:* keeps ROOM_HISTORY' : 'room:* keeps no history'}) ${url}`,
    stop: () => server.close(),
  };
}

const target = values.target === 'serve' ? await serveTarget() : await inprocTarget();
await new Promise((r) => setTimeout(r, 500));
const rssBefore = target.rss();
const heapBefore = await target.heap();
const load = () => readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');
console.log(`fuzz: ${seconds} s, ${connections} fuzzing connections + ${longPoll} long-poll fuzz peers + 1 well-behaved echo client, seed ${seed}`);
console.log(`target: ${target.describe}; load average ${load()}`);
const report = await fuzzServer({ url: target.url, connections, longPoll, durationMs: seconds * 1000, seed, shouldStop: () => false });
await new Promise((r) => setTimeout(r, 1000));
const rssAfter = target.rss();
const heapAfter = await target.heap();
const mib = (n: number | null) => (n === null ? 'n/a' : `${(n / MiB).toFixed(1)} MiB`);
const lines = [
  ['frames sent', `${report.framesSent} (${Math.round(report.framesSent / seconds)}/s)`],
  ['connections', `${report.connectionsOpened} opened`],
  ['crashes', String(target.crashes())],
  ['close codes', formatCounts(report.closes)],
  ['well-behaved', `${report.echo.roundTrips} echo round trips, ${report.echo.failures} failures, slowest ${report.echo.maxMs.toFixed(1)} ms`],
  ['errors reported', `${target.errorsReported()} ${values.target === 'serve' ? 'error log lines' : 'error-hook calls'}`],
  ['server RSS', `before ${mib(rssBefore)}, after ${mib(rssAfter)}${rssBefore !== null && rssAfter !== null ? ` (${rssAfter >= rssBefore ? '+' : ''}${((rssAfter - rssBefore) / MiB).toFixed(1)} MiB)` : ''}`],
  ['server heap', `before ${mib(heapBefore)}, after ${mib(heapAfter)}${values.target === 'inproc' ? ' (after a forced GC; fuzz clients closed)' : ''}`],
  ['load average', load()],
];
for (const [k, v] of lines) console.log(`${k.padEnd(16)} ${v}`);
for (const detail of report.echo.failuresDetail.slice(0, 10)) console.log(`  well-behaved failure: ${detail}`);
await target.stop();
process.exit(target.crashes() === 0 && report.echo.failures === 0 ? 0 : 1);
