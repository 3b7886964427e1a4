/**
 * Runs `tether serve` from a source tree as a child process on a free loopback port and reads its memory:
 * RSS and its high-water mark from /proc, heap from its own /metrics. For the bound figures (docs/security.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ServeChild {
  child: ChildProcess;
  url: string;
  httpUrl: string;
  port: number;
  /** Runs a full GC in the server (IPC), for the "after GC" figure. */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

export interface MemorySample {
  rssMiB: number;
  /** The process's peak RSS so far (VmHWM). */
  peakRssMiB: number;
  heapUsedMiB: number;
  /** Memory of Buffers and ArrayBuffers (outside the V8 heap), as V8 accounts it. */
  externalMiB: number;
}

const MiB = 1024 * 1024;

const FIXTURE = fileURLToPath(new URL('serve-gc.ts', import.meta.url));

/** Starts `tether serve --port 0 ...flags` of the source tree `tree` (see serve-gc.ts) and waits for its banner. */
export function startServe(tree: string, flags: string[]): Promise<ServeChild> {
  const child = spawn(process.execPath, ['--expose-gc', FIXTURE, ...flags], {
    cwd: tree,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, TETHER_TREE: tree, TETHER_LOG_FORMAT: 'json' },
  });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`tether serve did not start:\n${out}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`tether serve exited (${code}):\n${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /HTTP\s+(http:\/\/[^\s]+)/.exec(out);
      const ws = /WebSocket\s+(ws:\/\/[^\s]+)\/websocket/.exec(out);
      if (m && ws) {
        clearTimeout(timer);
        const port = Number(new URL(m[1]).port);
        resolve({
          child,
          url: ws[1],
          httpUrl: m[1],
          port,
          gc: () =>
            new Promise((done) => {
              child.once('message', () => done());
              child.send('gc');
            }),
          stop: () =>
            new Promise((done) => {
              child.removeAllListeners('exit');
              child.once('exit', () => done());
              child.kill('SIGKILL');
            }),
        });
      }
    });
  });
}

export function rssMiB(serve: ServeChild): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${serve.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

export async function sampleMemory(serve: ServeChild): Promise<MemorySample> {
  const status = readFileSync(`/proc/${serve.child.pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  const metrics = await (await fetch(`${serve.httpUrl}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? NaN) / MiB;
  return {
    rssMiB: kb('VmRSS') / MiB,
    peakRssMiB: kb('VmHWM') / MiB,
    heapUsedMiB: metric('nodejs_heap_size_used_bytes'),
    externalMiB: metric('nodejs_external_memory_bytes'),
  };
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

export const fmt = (n: number) => n.toFixed(0).padStart(6);
