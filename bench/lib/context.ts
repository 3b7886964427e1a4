/** What every workload gets from the runner: options, the load workers, and target lifecycle helpers. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectResult, Endpoint, StatsResult, TargetKind } from './messages.ts';
import type { Options } from './options.ts';
import { LoadWorker, TargetProcess, type GcReply } from './processes.ts';
import { LatencyHistogram } from '../../src/ops/latency-histogram.ts';
import { sampleProcess, type ProcSample } from './proc-stats.ts';

/**
 * Each target process gets its own block of loopback source addresses (each with its own ~28,000 ephemeral
 * ports). Fresh ones matter: bind() must find a port free toward every destination, and TIME_WAIT sockets left by
 * an earlier target on the same address slow it ~10x (measured: 620 vs 7,900 connects/s) or exhaust it. The
 * second octet is random per run so back-to-back runs do not meet each other's TIME_WAIT either.
 */
const ADDRESSES_PER_TARGET = 8;
const runOctet = 1 + Math.floor(Math.random() * 254);
let addressBlock = 0;
function freshSourceAddresses(): string[] {
  const block = addressBlock++ % 256;
  return Array.from({ length: ADDRESSES_PER_TARGET }, (_, i) => `127.${runOctet}.${block}.${i + 1}`);
}

export interface RunningTarget {
  target: TargetProcess;
  endpoint: Endpoint;
}

export class BenchContext {
  readonly options: Options;
  readonly workers: LoadWorker[];
  readonly profileDir: string;

  constructor(options: Options) {
    this.options = options;
    this.workers = Array.from({ length: options.workers }, () => new LoadWorker());
    this.profileDir = join(options.outDir, 'profiles');
  }

  log(message: string): void {
    process.stderr.write(`[bench] ${message}\n`);
  }

  /** Runs `body` against a fresh server process of `kind`, then closes every client and stops the server. */
  async withTarget<T>(kind: TargetKind, label: string, body: (target: TargetProcess, endpoint: Endpoint) => Promise<T>): Promise<T> {
    return this.withTargets([kind], label, ([running]) => body(running.target, running.endpoint));
  }

  /** Like withTarget with several servers running side by side, so a workload can take them in turn. */
  async withTargets<T>(kinds: TargetKind[], label: string, body: (running: RunningTarget[]) => Promise<T>): Promise<T> {
    const running: RunningTarget[] = [];
    try {
      for (const kind of kinds) running.push(await this.#start(kind, label));
      return await body(running);
    } finally {
      await Promise.all(this.workers.map((w) => w.request({ op: 'closeAll' })));
      await Promise.all(running.map((r) => r.target.stop()));
    }
  }

  /**
   * Runs `body` against `count` server processes of `kind` on their own ports, each with a load worker of its
   * own (so no process, server or client side, nears the fd limit); stops them all afterwards.
   */
  async withCluster<T>(kind: TargetKind, count: number, body: (running: RunningTarget[], workers: LoadWorker[]) => Promise<T>): Promise<T> {
    const running: RunningTarget[] = [];
    const workers: LoadWorker[] = [];
    try {
      for (let i = 0; i < count; i++) {
        running.push(await this.#start(kind, `hold-${i}`));
        workers.push(new LoadWorker());
      }
      return await body(running, workers);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(running.map((r) => r.target.stop()));
    }
  }

  async #start(kind: TargetKind, label: string): Promise<RunningTarget> {
    const nodeArgs: string[] = [];
    if (this.options.cpuProfile) {
      mkdirSync(this.profileDir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${this.profileDir}`, `--cpu-prof-name=${kind}-${label}.cpuprofile`);
    }
    const target = new TargetProcess(kind, nodeArgs);
    const endpoint: Endpoint = { kind, port: 0, sourceAddresses: freshSourceAddresses() };
    try {
      endpoint.port = await target.ready();
    } catch (err) {
      await target.stop();
      throw err;
    }
    return { target, endpoint };
  }

  /** Opens `count` joined connections split evenly over the workers; `topic` may contain `{i}`. */
  async connect(endpoint: Endpoint, count: number, topic: string, firstIndex = 0): Promise<ConnectResult> {
    const share = Math.ceil(count / this.workers.length);
    const results = await Promise.all(
      this.workers.map((worker, w) => {
        const n = Math.max(0, Math.min(share, count - w * share));
        return worker.request<ConnectResult>({
          op: 'connect',
          endpoint,
          count: n,
          topic,
          firstIndex: firstIndex + w * share,
          concurrency: 100,
        });
      }),
    );
    return {
      connected: results.reduce((s, r) => s + r.connected, 0),
      failed: results.reduce((s, r) => s + r.failed, 0),
      firstError: results.find((r) => r.firstError)?.firstError,
    };
  }

  async resetStats(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request({ op: 'resetStats' })));
  }

  async stats(): Promise<{ received: number; latency: LatencyHistogram; loopDelayP99Ms: number }> {
    const all = await Promise.all(this.workers.map((w) => w.request<StatsResult>({ op: 'stats' })));
    const latency = new LatencyHistogram();
    for (const s of all) latency.merge(s.latency);
    return { received: all.reduce((s, r) => s + r.received, 0), latency, loopDelayP99Ms: Math.max(0, ...all.map((s) => s.loopDelayP99Ms)) };
  }

  /** Server RSS and V8 heap after a forced full GC, and its CPU time so far. */
  async settledSample(target: TargetProcess): Promise<ProcSample & GcReply> {
    const reply = await target.gc();
    return { ...sampleProcess(target.pid), ...reply };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
