/**
 * Three `tether serve --redis` processes sharing one Redis (REDIS_URL; a key prefix unique to this run) behave as one
 * server: a broadcast from any node reaches every subscriber on every node exactly once; presence lists agree
 * on every node within a measured bound; a SIGKILLed node's presences leave after the liveness timeout.
 * Clients are the stock `phoenix` client.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Presence, Socket, type Channel } from 'phoenix';
import { createClient } from 'redis';

const root = fileURLToPath(new URL('../..', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? `TETHER_SKIP_REDIS=1: no Redis at ${REDIS_URL}, multi-node tests skipped` : undefined;
const NS = `e2e${process.pid}x${Date.now().toString(36)}`;
/** This run's cluster: its own node set and keys, so other runs and tests on the same Redis are not in it. */
const PREFIX = `tether-test:${NS}:`;
const nodeId = (i: number) => `${NS}-n${i}`;
/** The broker's default liveness settings, which `tether serve` uses. */
const HEARTBEAT_MS = 1000;
const NODE_TIMEOUT_MS = 5000;
/** Presence seen everywhere within this long (measured well under it; see docs/scale-out.md). */
const PRESENCE_BOUND_MS = 2000;

interface Node {
  proc: ChildProcess;
  url: string;
  exited: Promise<void>;
}

/** Every node started, kept even when its start fails, so the file always ends its processes. */
const spawned: { proc: ChildProcess; exited: Promise<void> }[] = [];

function startNode(i: number): Promise<Node> {
  const proc = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0', '--redis', REDIS_URL, '--redis-prefix', PREFIX, '--node-id', nodeId(i)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  spawned.push({ proc, exited });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${i} printed no URL within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /ws:\/\/127\.0\.0\.1:\d+\/socket/.exec(output);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stdout!.resume();
        resolve({ proc, url: m[0], exited });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`node ${i} exited before listening:\n${output}`));
    });
  });
}

const sockets: Socket[] = [];

function open(url: string, params: Record<string, string> = {}): Promise<Socket> {
  const socket = new Socket(url, { params, reconnectAfterMs: () => 200, rejoinAfterMs: () => 200 });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${url}`)), 5000);
    socket.onOpen(() => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.connect();
  });
}

function join(channel: Channel): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.join(3000).receive('ok', () => resolve()).receive('error', reject).receive('timeout', () => reject(new Error('join timeout')));
  });
}

async function until(pred: () => boolean, what: string, ms: number): Promise<number> {
  const start = performance.now();
  while (!pred()) {
    if (performance.now() - start > ms) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

describe('three tether serve processes on one Redis', { skip, timeout: 60_000 }, () => {
  let nodes: Node[] = [];

  before(async () => {
    nodes = await Promise.all([0, 1, 2].map(startNode));
  });

  it('forms its own cluster under the run\'s key prefix, with the node ids it was given', async () => {
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    try {
      let members: string[] = [];
      const deadline = performance.now() + 3 * HEARTBEAT_MS;
      while (members.length < 3 && performance.now() < deadline) {
        members = (await redis.zRange(`${PREFIX}nodes`, 0, -1)).sort();
        if (members.length < 3) await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(members, [0, 1, 2].map(nodeId));
      assert.ok(!(await redis.zRange('tether:nodes', 0, -1)).some((m) => m.startsWith(NS)), 'nothing under the default prefix');
    } finally {
      await redis.close();
    }
  });

  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const n of spawned) n.proc.kill('SIGTERM');
    const killer = setTimeout(() => spawned.forEach((n) => n.proc.kill('SIGKILL')), 5000);
    await Promise.all(spawned.map((n) => n.exited));
    clearTimeout(killer);
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    // Every key of this run is under its prefix (the SIGKILLed node's heartbeat entry included).
    for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
    await redis.close();
  });

  it('delivers a broadcast from any node to every subscriber on every node exactly once', async () => {
    const topic = `room:${NS}-fanout`;
    const perNode = 3;
    const perSender = 20;
    const received: { from: number; i: number }[][] = [];
    const channels: Channel[] = [];
    for (let n = 0; n < 3; n++) {
      for (let k = 0; k < perNode; k++) {
        const socket = await open(nodes[n].url);
        const channel = socket.channel(topic);
        const got: { from: number; i: number }[] = [];
        channel.on('shout', (p: { from: number; i: number }) => {
          got.push(p);
        });
        await join(channel);
        received.push(got);
        if (k === 0) channels[n] = channel;
      }
    }
    for (let i = 0; i < perSender; i++) for (let n = 0; n < 3; n++) channels[n].push('shout', { from: n, i });
    const total = 3 * perSender;
    await until(() => received.every((got) => got.length >= total), `${total} shouts on all ${received.length} clients`, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive in this window
    for (const got of received) {
      assert.equal(got.length, total);
      for (let n = 0; n < 3; n++) {
        assert.deepEqual(got.filter((p) => p.from === n).map((p) => p.i), Array.from({ length: perSender }, (_, i) => i));
      }
    }
  });

  it('agrees on presence across nodes, and a SIGKILLed node\'s presences leave after the liveness timeout', async (t) => {
    const topic = `room:${NS}-presence`;
    const users = ['alice', 'bob', 'carol'];
    const presences: Presence[] = [];
    const listed = (p: Presence) => p.list((key: string) => key).sort();
    for (let n = 0; n < 3; n++) {
      const socket = await open(nodes[n].url, { user: users[n] });
      const channel = socket.channel(topic);
      presences.push(new Presence(channel));
      await join(channel);
    }
    const agreedMs = await until(
      () => presences.every((p) => listed(p).join() === users.join()),
      'every node to list alice, bob and carol',
      PRESENCE_BOUND_MS,
    );
    t.diagnostic(`presence agreed on all nodes ${agreedMs.toFixed(0)} ms after the last join`);

    const killedAt = performance.now();
    nodes[2].proc.kill('SIGKILL');
    await nodes[2].exited;
    sockets.filter((s) => s.endPointURL().startsWith(nodes[2].url)).forEach((s) => s.disconnect());
    const bound = NODE_TIMEOUT_MS + HEARTBEAT_MS + 1500;
    const leftMs = await until(
      () => presences.slice(0, 2).every((p) => listed(p).join() === 'alice,bob'),
      "carol's presence to leave on the surviving nodes",
      bound,
    );
    const measured = performance.now() - killedAt;
    t.diagnostic(`carol left on both survivors ${measured.toFixed(0)} ms after SIGKILL (bound ${bound} ms)`);
    assert.ok(leftMs >= NODE_TIMEOUT_MS - HEARTBEAT_MS, `left after ${leftMs} ms: sooner than the liveness timeout allows`);
  });
});
