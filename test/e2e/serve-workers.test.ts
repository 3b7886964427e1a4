/**
 * `tether serve --workers 2 --redis`: two worker processes on one port form one server. Clients on different
 * workers see each other's broadcasts exactly once and the same presence; SIGHUP rolls the workers one at a time
 * while /healthz keeps answering and the clients of the restarted worker reconnect; /metrics sums both workers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { pollUntil } from '../helpers/poll.ts';
import { runServer, type Running } from '../helpers/serve-process.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'Redis is not reachable (TETHER_SKIP_REDIS=1)' : false;
const topic = `room:workers-${process.pid}-${Date.now()}`;

/** A Phoenix v2 client that rejoins `topic` whenever it reconnects, and records shouts and presence keys. */
class Member {
  shouts: unknown[] = [];
  present = new Set<string>();
  closes: number[] = [];
  #ws!: WebSocket;
  #ref = 0;
  #stopped = false;
  readonly url: string;
  readonly user: string;
  constructor(url: string, user: string) {
    this.url = url;
    this.user = user;
  }

  async open(): Promise<void> {
    const ws = new WebSocket(`${this.url}/websocket?vsn=2.0.0&user=${this.user}`);
    this.#ws = ws;
    ws.on('message', (data: Buffer) => this.#onFrame(JSON.parse(data.toString()) as unknown[]));
    ws.on('close', (code) => {
      this.closes.push(code);
      if (!this.#stopped) setTimeout(() => void this.open().catch(() => ws.emit('close', 1006)), 50);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.present.clear();
    this.send('phx_join', {});
  }

  send(event: string, payload: unknown): void {
    this.#ws.send(JSON.stringify(['1', String(++this.#ref), topic, event, payload]));
  }

  get open_(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  stop(): void {
    this.#stopped = true;
    this.#ws?.close();
  }

  #onFrame([, , , event, payload]: unknown[]): void {
    const p = payload as Record<string, Record<string, unknown>>;
    if (event === 'shout') this.shouts.push(payload);
    if (event === 'presence_state') for (const key of Object.keys(p)) this.present.add(key);
    if (event === 'presence_diff') {
      for (const key of Object.keys(p.joins ?? {})) this.present.add(key);
      for (const key of Object.keys(p.leaves ?? {})) this.present.delete(key);
    }
  }
}

/** One HTTP GET on a fresh connection (no keep-alive, so it is handed to whichever worker the primary picks). */
function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function metric(text: string, line: RegExp): number[] {
  return [...text.matchAll(line)].map((m) => Number(m[1]));
}

test('without Redis, --workers is a usage error (exit 2)', () => {
  const { REDIS_URL: _ignored, ...env } = process.env;
  const run = spawnSync(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0', '--workers', '2'], { env, encoding: 'utf8', timeout: 10_000 });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /workers: needs --redis or --redis-cluster: the embedded memory broker cannot cross processes/);
});

test('two workers on one port: one server across them, rolled one at a time on SIGHUP', { skip, timeout: 20_000 }, async (t) => {
  const prefix = `tether-workers-${process.pid}-${Date.now()}:`;
  const server: Running = await runServer(process.execPath, [
    'src/cli/main.ts', 'serve', '--port', '0', '--workers', '2', '--redis', redisUrl, '--redis-prefix', prefix, '--log-level', 'warn',
  ]);
  await pollUntil(() => server.output().includes('all 2 worker(s) ready'), 'both workers ready', 10_000);

  // node:cluster hands connections out round-robin: four clients land on both workers.
  const members = ['u0', 'u1', 'u2', 'u3'].map((user) => new Member(server.wsUrl, user));
  // A failed assertion must not leave the members reconnecting to a killed server for ever.
  t.after(() => {
    for (const m of members) m.stop();
  });
  for (const m of members) await m.open();
  let perWorker: number[] = [];
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    perWorker = metric((await fetchText(`${server.httpUrl}/metrics`)).body, /^tether_worker_connections\{worker="[^"]+-w\d"\} (\d+)$/gm);
    if (perWorker.length === 2 && perWorker.every((n) => n >= 1) && perWorker[0] + perWorker[1] === 4) break;
  }
  // Round-robin counts every accepted connection (a probe takes a turn too): 2 + 2 or 1 + 3.
  assert.equal(perWorker.length, 2);
  assert.ok(perWorker.every((n) => n >= 1), `connections spread over both workers: ${perWorker}`);
  assert.equal(perWorker[0] + perWorker[1], 4, 'every member counted once');
  const metrics = (await fetchText(`${server.httpUrl}/metrics`)).body;
  assert.deepEqual(metric(metrics, /^tether_connections (\d+)$/gm), [4], '/metrics sums both workers');
  assert.deepEqual(metric(metrics, /^tether_workers (\d+)$/gm), [2]);
  // /readyz: the answering worker's own readiness, its node id, and the machine's ready workers.
  const readiness = JSON.parse((await fetchText(`${server.httpUrl}/readyz`)).body) as {
    ready: boolean;
    node: string;
    workers: { node: string; connections: number }[];
    workersWanted: number;
  };
  assert.equal(readiness.ready, true);
  assert.match(readiness.node, /-w[12]$/);
  assert.equal(readiness.workersWanted, 2);
  assert.deepEqual(readiness.workers.map((w) => w.node.replace(/^.*-(w\d)$/, '$1')).toSorted(), ['w1', 'w2']);
  // The dashboard's feed (open on loopback) lists both workers with their connections.
  const admin = new WebSocket(`${server.wsUrl}/websocket?vsn=2.0.0`);
  await new Promise((resolve) => admin.once('open', resolve));
  const snapshot = new Promise<{ info: { node: string; workers?: { node: string; connections: number }[] } }>((resolve) =>
    admin.on('message', (data: Buffer) => {
      const [, , , event, payload] = JSON.parse(data.toString()) as [unknown, unknown, string, string, never];
      if (event === 'snapshot') resolve(payload);
    }),
  );
  admin.send(JSON.stringify(['1', '1', 'tether:admin', 'phx_join', {}]));
  const { info } = await snapshot;
  admin.close();
  assert.deepEqual(info.workers?.map((w) => w.node.replace(/^.*-(w\d)$/, '$1')).toSorted(), ['w1', 'w2']);
  assert.ok(info.workers?.some((w) => w.node === info.node), 'the answering worker is in the list');

  // The same presence everywhere, and a shout delivered exactly once to every member.
  const everyone = () => members.every((m) => m.present.size === 4);
  await pollUntil(everyone, 'every member sees all four users', 5000);
  const shoutOnce = async (n: number) => {
    members[n % 4].send('shout', { n });
    await pollUntil(() => members.every((m) => m.shouts.some((s) => (s as { n: number }).n === n)), `shout ${n} everywhere`, 5000);
    await new Promise((r) => setTimeout(r, 300));
    for (const m of members) assert.equal(m.shouts.filter((s) => (s as { n: number }).n === n).length, 1, `${m.user} got shout ${n} once`);
  };
  await shoutOnce(1);
  await shoutOnce(2);

  // SIGHUP: one worker at a time; /healthz answers throughout and the drained clients (1012) come back.
  let probes = 0;
  let failures = 0;
  let rolling = true;
  const probe = (async () => {
    while (rolling) {
      probes++;
      const ok = await fetchText(`${server.httpUrl}/healthz`).then((r) => r.status === 200, () => false);
      if (!ok) failures++;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  server.child.kill('SIGHUP');
  await pollUntil(() => server.output().includes('rolling restart done'), 'the rolling restart', 15_000);
  rolling = false;
  await probe;
  assert.equal(failures, 0, `${failures} of ${probes} health probes failed during the rolling restart`);
  assert.ok(members.every((m) => m.closes.includes(1012)), 'every member was drained once with 1012 (each worker restarted)');
  await pollUntil(() => members.every((m) => m.open_) && everyone(), 'members back with full presence', 5000);
  await shoutOnce(3);

  // A worker killed outright is restarted (after the first backoff step) and its clients come back.
  const pids = [...server.output().matchAll(/worker (\S+-w1) ready \(pid (\d+)\)/g)];
  const readyLines = () => server.output().match(/-w1 ready/g)?.length ?? 0;
  const before = readyLines();
  process.kill(Number(pids.at(-1)![2]), 'SIGKILL');
  await pollUntil(() => readyLines() > before, 'the killed worker restarted', 10_000);
  assert.match(server.output(), /worker \S+-w1 died \(SIGKILL\); restarting in 250 ms/);
  await pollUntil(() => members.every((m) => m.open_) && everyone(), 'members back after the crash', 5000);
  await shoutOnce(4);

  for (const m of members) m.stop();
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});
