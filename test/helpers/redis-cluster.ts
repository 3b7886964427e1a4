/**
 * A real Redis Cluster on loopback for tests and benchmarks: 6 `redis-server` processes (3 masters, 3 replicas)
 * on free ports, joined by `redis-cli --cluster create`, ready once every node reports `cluster_state:ok` and
 * every replica `master_link_status:up`. `stop()` kills every process and removes the temporary directory, and
 * a failed start cleans up the same way. Port 6379 is never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClusterNode {
  port: number;
  url: string;
  process: ChildProcess;
}

export interface LocalRedisCluster {
  nodes: ClusterNode[];
  /** Seed URLs of every node. */
  urls: string[];
  /** Runs `redis-cli -p port ...args` and returns its stdout. */
  cli(port: number, ...args: string[]): string;
  /** The ports of the current masters (asked of a live node). */
  masters(): number[];
  /** SIGKILLs one node. */
  kill(port: number): void;
  /** Moves one slot (and its keys) from its master to the master on `toPort`, as resharding does. */
  moveSlot(slot: number, toPort: number): void;
  stop(): Promise<void>;
}

/** Why a cluster cannot be started here (no redis-server), or null when it can. */
export function clusterUnavailable(): string | null {
  for (const bin of ['redis-server', 'redis-cli']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `${bin} is not installed`;
  }
  return null;
}

/** The skip reason for cluster suites: fails the run under CI=true when redis-server is missing. */
export function clusterSkipReason(): string | undefined {
  const missing = clusterUnavailable();
  if (!missing) return undefined;
  if (process.env.CI === 'true') throw new Error(`Redis Cluster suites need redis-server and redis-cli under CI: ${missing}`);
  return `${missing}: the Redis Cluster suites are SKIPPED`;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Six ports P with P and its cluster bus port P + 10000 free, from a random start in 17000..18999. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  let p = 17000 + Math.floor(Math.random() * 2000);
  for (let tries = 0; ports.length < count && tries < 2000; tries++, p++) {
    if (p >= 19000) p = 17000;
    if ((await portFree(p)) && (await portFree(p + 10000))) ports.push(p);
  }
  if (ports.length < count) throw new Error('no free ports for a Redis Cluster in 17000..18999');
  return ports;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRedisCluster(options: { timeoutMs?: number } = {}): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-cluster-'));
  const nodes: ClusterNode[] = [];
  const cli = (port: number, ...args: string[]): string => {
    const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
    if (r.error) throw r.error;
    return r.stdout;
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            if (n.process.exitCode !== null || n.process.signalCode !== null) return resolve();
            n.process.once('exit', () => resolve());
            n.process.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(6);
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--cluster-enabled', 'yes', '--cluster-node-timeout', '2000',
          '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no',
          '--bind', '127.0.0.1', '--daemonize', 'no',
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, url: `redis://127.0.0.1:${port}`, process: child });
    }
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
        await sleep(50);
      }
    };
    await until('every redis-server to answer PING', () => ports.every((p) => cli(p, 'PING').trim() === 'PONG'));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    await until('cluster_state:ok on every node', () => ports.every((p) => cli(p, 'CLUSTER', 'INFO').includes('cluster_state:ok')));
    await until('every replica master_link_status:up', () =>
      ports.every((p) => {
        const info = cli(p, 'INFO', 'replication');
        return info.includes('role:master') || info.includes('master_link_status:up');
      }),
    );
    const masters = (): number[] => {
      for (const n of nodes) {
        if (n.process.exitCode !== null || n.process.signalCode !== null) continue;
        const out = cli(n.port, 'CLUSTER', 'NODES');
        return out
          .split('\n')
          .filter((l) => /\bmaster\b/.test(l) && !/\bfail\b/.test(l))
          .map((l) => Number(/:(\d+)@/.exec(l)?.[1]))
          .filter((p) => p > 0);
      }
      return [];
    };
    return {
      nodes,
      urls: nodes.map((n) => n.url),
      cli,
      masters,
      kill(port) {
        nodes.find((n) => n.port === port)?.process.kill('SIGKILL');
      },
      moveSlot(slot, toPort) {
        const table = cli(toPort, 'CLUSTER', 'NODES').split('\n').filter(Boolean).map((l) => l.split(' '));
        const idOf = (port: number) => table.find((f) => f[1].startsWith(`127.0.0.1:${port}@`))![0];
        const owner = table.find((f) => f[2].includes('master') && f.slice(8).some((r) => {
          const [a, b] = r.split('-').map(Number);
          return slot >= a && slot <= (b ?? a);
        }))!;
        const fromPort = Number(/:(\d+)@/.exec(owner[1])![1]);
        const [fromId, toId] = [owner[0], idOf(toPort)];
        cli(toPort, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
        cli(fromPort, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
        const keys = cli(fromPort, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '1000').split('\n').filter(Boolean);
        if (keys.length) cli(fromPort, 'MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', 'KEYS', ...keys);
        for (const port of [toPort, fromPort]) cli(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
