/**
 * `tether serve --workers N|auto`: the primary of a node:cluster. It opens no socket: it forks N workers that
 * share the port (the primary hands out connections round-robin on Linux), each a full Tether node with its
 * own node id `NODEID-wI` talking to the others through the Redis broker exactly as separate machines do.
 * The primary restarts a worker that dies (with a backoff), rolls the workers one at a time on SIGHUP, drains
 * them all on SIGTERM/SIGINT, and answers the workers' /metrics with the sum of all (src/ops/cluster-metrics.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { ENV_VARS, workerCount, type ServeConfig } from '../ops/config.ts';
import { primaryMetrics, type PrimaryMessage, type WorkerMessage, type WorkerRow } from '../ops/cluster-metrics.ts';

const INDEX_ENV = 'TETHER_WORKER_INDEX';
const NODE_ENV = 'TETHER_WORKER_NODE_ID';
/** A crashed worker is restarted after 250 ms, doubling per crash in a row up to 30 s; 60 s alive resets it. */
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 30_000;
const STABLE_MS = 60_000;

/** This process's place when it is a worker of `tether serve --workers`; undefined in a plain process or the primary. */
export function workerRole(): { index: number; nodeId: string } | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(process.env[INDEX_ENV]);
  const nodeId = process.env[NODE_ENV];
  return Number.isInteger(index) && nodeId ? { index, nodeId } : undefined;
}

/** In a worker: tells the primary it serves, reports its connection count every second, learns the worker list. */
export function reportToPrimary(connections: () => number, onRows: (rows: WorkerRow[]) => void): () => void {
  const send = (message: WorkerMessage) => {
    if (process.connected) process.send?.(message, undefined, {}, () => {});
  };
  send({ tether: 'ready' });
  send({ tether: 'status', connections: connections() });
  const timer = setInterval(() => send({ tether: 'status', connections: connections() }), 1000);
  timer.unref();
  const listener = (raw: unknown) => {
    const message = raw as Partial<PrimaryMessage> | null;
    if (message?.tether === 'workers' && Array.isArray(message.rows)) onRows(message.rows);
  };
  process.on('message', listener);
  return () => {
    clearInterval(timer);
    process.off('message', listener);
  };
}

type Slot = {
  index: number;
  node: string;
  worker?: Worker;
  startedAt: number;
  crashes: number;
  restarts: number;
  connections: number;
  ready: boolean;
  /** False until the slot's first worker reports ready: dying before that is a startup failure, not a crash. */
  served: boolean;
};

/** In the primary: runs the workers until SIGTERM/SIGINT. `drainTimeoutMs` bounds how long a worker may take to drain. */
export async function runPrimary(config: ServeConfig, out: { info(line: string): void; error(line: string): void }): Promise<void> {
  const count = workerCount(config.workers ?? 1);
  const base = config.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
  // One long-poll secret for every worker (and every restart of one): a new connection may reach any worker, and
  // each must verify the others' session tokens to relay the request. Random per process would mean 410s.
  const shared: Record<string, string> =
    config.longPollSecret === undefined ? { [ENV_VARS.longPollSecret]: randomBytes(32).toString('base64url') } : {};
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    node: `${base}-w${i + 1}`,
    startedAt: 0,
    crashes: 0,
    restarts: -1,
    connections: 0,
    ready: false,
    served: false,
  }));
  const leaving = new Set<Worker>(); // workers we asked to go: their exit is not a crash
  const readyWaiters = new Map<Slot, () => void>();
  let stopping = false;
  let rolling = false;
  const rows = (): WorkerRow[] =>
    slots.filter((s) => s.worker && s.ready).map((s) => ({ node: s.node, pid: s.worker?.process.pid ?? 0, connections: s.connections, restarts: s.restarts }));
  const metrics = primaryMetrics(rows);
  const exitBound = config.drainTimeoutMs + config.closeGraceMs + 5_000;

  const start = (slot: Slot) => {
    slot.restarts++;
    slot.ready = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ ...shared, [INDEX_ENV]: String(slot.index), [NODE_ENV]: slot.node });
    slot.worker = worker;
    worker.on('message', (raw: unknown) => {
      const message = raw as Partial<WorkerMessage> | null;
      if (message?.tether === 'ready') {
        slot.ready = true;
        slot.served = true;
        out.info(`  worker ${slot.node} ready (pid ${worker.process.pid})`);
        readyWaiters.get(slot)?.();
      } else if (message?.tether === 'status' && typeof message.connections === 'number') {
        slot.connections = message.connections;
      } else if (message?.tether === 'metrics' && typeof message.id === 'number') {
        metrics.answer(worker, message.id);
      }
    });
    worker.on('exit', (code, signal) => {
      if (slot.worker === worker) {
        slot.worker = undefined;
        slot.ready = false;
      }
      if (leaving.delete(worker) || stopping) return;
      if (!slot.served) {
        // A worker that never came up (port taken, Redis unreachable, bad TLS files) would fail the same way again.
        out.error(`  worker ${slot.node} failed to start (${signal ?? `exit ${code}`}); stopping`);
        return stop('startup failure', 1);
      }
      // Unexpected: restart, backing off while it keeps crashing soon after starting.
      slot.crashes = Date.now() - slot.startedAt > STABLE_MS ? 1 : slot.crashes + 1;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (slot.crashes - 1));
      out.error(`  worker ${slot.node} died (${signal ?? `exit ${code}`}); restarting in ${delay} ms`);
      setTimeout(() => {
        if (!stopping && !slot.worker) start(slot);
      }, delay);
    });
  };

  /** Asks a worker to drain (SIGTERM: 1012 to its clients) and resolves when it has exited; SIGKILL past the bound. */
  const retire = (worker: Worker) =>
    new Promise<void>((resolve) => {
      leaving.add(worker);
      if (worker.isDead()) return resolve();
      const kill = setTimeout(() => worker.process.kill('SIGKILL'), exitBound);
      worker.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      worker.process.kill('SIGTERM');
    });

  const whenReady = (slot: Slot) =>
    new Promise<void>((resolve) => {
      if (slot.ready) return resolve();
      readyWaiters.set(slot, () => {
        readyWaiters.delete(slot);
        resolve();
      });
    });

  const roll = async () => {
    if (rolling || stopping) return;
    rolling = true;
    out.info(`SIGHUP: rolling restart of ${slots.length} worker(s), one at a time`);
    for (const slot of slots) {
      if (stopping) break;
      if (slot.worker) await retire(slot.worker);
      if (stopping) break;
      slot.crashes = 0;
      start(slot);
      await whenReady(slot);
    }
    rolling = false;
    if (!stopping) out.info('rolling restart done');
  };

  function stop(signal: string, exitCode = 0): void {
    if (stopping) return;
    stopping = true;
    out.info(`${signal}: draining ${slots.length} worker(s)`);
    for (const waiter of readyWaiters.values()) waiter();
    const live = slots.flatMap((s) => (s.worker ? [s.worker] : []));
    void Promise.all(live.map(retire)).then(() => process.exit(exitCode));
  }

  // Every second, tell each worker the list (the dashboard's node info shows it).
  const broadcast = setInterval(() => {
    const message: PrimaryMessage = { tether: 'workers', rows: rows() };
    for (const slot of slots) if (slot.worker?.isConnected()) slot.worker.send(message, undefined, {}, () => {});
  }, 1000);
  broadcast.unref();

  process.on('SIGHUP', () => void roll());
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  out.info(`tether serve: primary pid ${process.pid}, starting ${count} worker(s) ${slots.map((s) => s.node).join(', ')}`);
  for (const slot of slots) start(slot);
  await Promise.all(slots.map(whenReady));
  if (!stopping) out.info(`all ${count} worker(s) ready; SIGHUP rolls them one at a time, SIGTERM drains them all`);
}
