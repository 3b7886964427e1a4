/**
 * Child processes of the bench: target servers and load workers. Every child is registered so that any exit
 * of the runner (normal end, error, Ctrl-C) kills them all; children also exit on their own when the IPC
 * channel to the runner closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { TargetKind, WorkerCommand, WorkerReply } from './messages.ts';

export interface GcReply {
  heapUsed: number;
  connections: number;
  topics: number;
}

const children = new Set<ChildProcess>();
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const READY_TIMEOUT_MS = 15_000;

function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** Spawns node under `ulimit -n <hard limit>` with an IPC channel. */
function spawnNode(script: string, nodeArgs: string[], stdout: 'pipe' | 'inherit'): ChildProcess {
  const child = spawn(
    'bash',
    ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'bench-child', process.execPath, ...nodeArgs, script],
    { stdio: ['ignore', stdout, 'inherit', 'ipc'], cwd: BENCH_DIR },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export class TargetProcess {
  readonly kind: TargetKind;
  readonly child: ChildProcess;
  port = 0;

  constructor(kind: TargetKind, nodeArgs: string[]) {
    this.kind = kind;
    this.child = spawnNode(`targets/${kind}.ts`, ['--expose-gc', ...nodeArgs], 'pipe');
  }

  get pid(): number {
    return this.child.pid!;
  }

  async ready(): Promise<number> {
    const lines = createInterface({ input: this.child.stdout! });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.kind} target not ready in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      this.child.once('exit', (code) => reject(new Error(`${this.kind} target exited with ${code} before READY`)));
      lines.on('line', (line) => {
        const match = /^READY (\d+)$/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        } else process.stdout.write(`[${this.kind}] ${line}\n`);
      });
    });
    this.port = port;
    return port;
  }

  /** Asks the server to run a full GC and waits until it has; resolves to its V8 heap and holdings afterwards. */
  gc(): Promise<GcReply> {
    return new Promise((resolve) => {
      this.child.once('message', (reply: GcReply) => resolve(reply));
      this.child.send({ op: 'gc' });
    });
  }

  /** The target's own figures for the workload (`probe` of announceReady), optionally starting them over. */
  probe<R>(reset: boolean): Promise<R> {
    return new Promise((resolve) => {
      this.child.once('message', (reply: R) => resolve(reply));
      this.child.send({ op: 'probe', reset });
    });
  }

  /** Has the server write a V8 heap snapshot to `path` and waits until it has. */
  heapSnapshot(path: string): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('message', () => resolve());
      this.child.send({ op: 'heapSnapshot', path });
    });
  }

  /** Stops the server gracefully (so `--cpu-prof` gets written) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export class LoadWorker {
  readonly #child = spawnNode('load/worker.ts', [], 'inherit');

  /** The worker's process id (for its CPU time). */
  get pid(): number {
    return this.#child.pid!;
  }
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;

  constructor() {
    this.#child.on('message', (reply: WorkerReply) => {
      const waiter = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.result);
      else waiter?.reject(new Error(`load worker: ${reply.error}`));
    });
    this.#child.once('exit', (code) => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`load worker exited with ${code}`));
      this.#waiting.clear();
    });
  }

  request<R>(command: WorkerCommand): Promise<R> {
    const id = this.#nextId++;
    return new Promise<R>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ ...command, id });
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.disconnect();
    await exited;
  }
}
