/**
 * Metrics across the worker processes of `tether serve --workers` (node:cluster). prom-client's
 * AggregatorRegistry is made for this: the primary asks every worker for its registry over IPC and sums them.
 * The primary serves no HTTP, so a worker answering /metrics asks the primary for the sum (one IPC round trip)
 * and the primary adds the per-worker rows it knows (`tether_worker_*{worker="NODE"}`).
 */
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, Gauge, Registry } from 'prom-client';
import type { WorkerInfo } from '../dashboard/feed.ts';

/** One worker as the primary sees it: node id, pid, connections at its last report (every second), restarts. */
export type WorkerRow = WorkerInfo;

/** The IPC messages between primary and workers; `tether` tags them apart from prom-client's own. */
export type WorkerMessage =
  | { tether: 'ready' }
  | { tether: 'status'; connections: number }
  | { tether: 'metrics'; id: number };
export type PrimaryMessage =
  | { tether: 'metrics'; id: number; text?: string; error?: string }
  | { tether: 'workers'; rows: WorkerRow[] };

/** Bound on /metrics requests a worker waits on at once; beyond it a request fails at once instead of queueing. */
const MAX_PENDING = 64;
const TIMEOUT_MS = 10_000;

/** In a worker: lets the primary collect `registry`, and returns what /metrics should answer (the cluster's sum). */
export function workerMetrics(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // its constructor installs the worker's IPC listener (idempotent)
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  let next = 0;
  process.on('message', (raw: unknown) => {
    const message = raw as Partial<PrimaryMessage> | null;
    if (message?.tether !== 'metrics' || typeof message.id !== 'number') return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (typeof message.text === 'string') waiter.resolve(message.text);
    else waiter.reject(new Error(`cluster metrics: ${message.error ?? 'no answer'}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      if (pending.size >= MAX_PENDING || !process.send) return reject(new Error('cluster metrics: too many requests in flight'));
      const id = ++next;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('cluster metrics: the primary did not answer'));
      }, TIMEOUT_MS);
      timer.unref();
      pending.set(id, { resolve, reject, timer });
      process.send({ tether: 'metrics', id } satisfies WorkerMessage);
    });
}

/** In the primary: answers workers' /metrics requests with every worker's metrics summed plus per-worker rows. */
export function primaryMetrics(rows: () => WorkerRow[]): { answer(worker: Worker, id: number): void } {
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  new Gauge({
    name: 'tether_workers',
    help: 'worker processes running (tether serve --workers)',
    registers: [own],
    collect() {
      this.set(rows().length);
    },
  });
  new Gauge({
    name: 'tether_worker_connections',
    help: 'open connections per worker, as last reported (every second)',
    labelNames: ['worker'],
    registers: [own],
    collect() {
      this.reset();
      for (const row of rows()) this.set({ worker: row.node }, row.connections);
    },
  });
  new Gauge({
    name: 'tether_worker_restarts',
    help: 'restarts of each worker slot since the primary started (crash and rolling restarts)',
    labelNames: ['worker'],
    registers: [own],
    collect() {
      this.reset();
      for (const row of rows()) this.set({ worker: row.node }, row.restarts);
    },
  });
  return {
    answer(worker, id) {
      Promise.all([aggregator.clusterMetrics(), own.metrics()]).then(
        ([summed, perWorker]) => send(worker, { tether: 'metrics', id, text: `${summed}\n${perWorker}` }),
        (err: unknown) => send(worker, { tether: 'metrics', id, error: err instanceof Error ? err.message : String(err) }),
      );
    },
  };
}

function send(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message, (err: Error | null) => void err); // a worker gone meanwhile: nothing to answer
}
