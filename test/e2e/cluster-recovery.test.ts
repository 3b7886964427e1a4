/**
 * No sticky sessions: Tether clients behind a plain TCP front end (the testing kit's link) are connected to
 * node A while node B publishes a numbered, history-enabled stream through Redis. A is SIGKILLed mid-stream; the front end sends
 * the reconnecting clients to B, which replays what they missed from the Redis history. Every client ends
 * with every message exactly once and in order, and says it recovered.
 *
 * This file is also the node program: run with TETHER_CLUSTER_NODE=1 it serves `feed:*` on a RedisBroker.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { createFaultyLink, type FaultyLink } from '../../src/testing/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOPIC = 'feed:main';

if (process.env.TETHER_CLUSTER_NODE === '1') await runNode();
else runTests();

async function runNode(): Promise<void> {
  const { RedisBroker } = await import('../../src/broker/redis.ts');
  const { createServer, ok } = await import('../../src/server/index.ts');
  const broker = new RedisBroker({ url: REDIS_URL, keyPrefix: process.env.PREFIX, nodeId: process.env.NODE_ID });
  broker.on('error', () => {});
  const server = createServer({
    port: 0,
    host: '127.0.0.1',
    channels: { 'feed:*': { history: { maxMessages: 10_000, ttlMs: 600_000 }, join: () => ok() } },
    broker,
  });
  const { port } = await server.listen();
  process.on('message', async (m: { type: string; total: number }) => {
    if (m.type === 'publish') {
      for (let seq = 1; seq <= m.total; seq++) {
        server.broadcast(TOPIC, 'msg', { seq });
        if (seq % 10 === 0) {
          process.send!({ type: 'progress', seq });
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      process.send!({ type: 'published' });
    } else if (m.type === 'close') {
      await server.close();
      await broker.close();
      process.exit(0);
    }
  });
  process.send!({ type: 'ready', port });
}

function runTests(): void {
  const skip = process.env.TETHER_SKIP_REDIS === '1' ? `TETHER_SKIP_REDIS=1: no Redis at ${REDIS_URL}, cross-node recovery skipped` : undefined;
  const NS = `e2erec${process.pid}x${Date.now().toString(36)}`;
  const CLIENTS = 20;
  const TOTAL = 2000;

  interface Node {
    proc: ChildProcess;
    port: number;
    exited: Promise<void>;
  }

  function startNode(name: string): Promise<Node> {
    const proc = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, TETHER_CLUSTER_NODE: '1', PREFIX: `${NS}:`, NODE_ID: `${NS}-${name}` },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${name} not ready within 10 s`)), 10_000);
      proc.on('message', (m: { type: string; port?: number }) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        resolve({ proc, port: m.port!, exited });
      });
    });
  }

  describe('a client recovers from another node after its node is SIGKILLed', { skip, timeout: 60_000 }, () => {
    let nodes: Node[] = [];
    // The front end (a load balancer at its simplest) is the testing kit's link: to node a, retargeted to b on a's death.
    let front: FaultyLink;
    const sockets: { disconnect(): void }[] = [];

    before(async () => {
      nodes = await Promise.all([startNode('a'), startNode('b')]);
      front = await createFaultyLink({ target: nodes[0].port });
    });

    after(async () => {
      for (const s of sockets) s.disconnect();
      await front.close();
      for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.send({ type: 'close' });
      const killer = setTimeout(() => nodes.forEach((n) => n.proc.kill('SIGKILL')), 5000);
      await Promise.all(nodes.map((n) => n.exited));
      clearTimeout(killer);
      const redis = createClient({ url: REDIS_URL });
      await redis.connect();
      for await (const keys of redis.scanIterator({ MATCH: `${NS}:*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
      await redis.close();
    });

    it('every client ends with every message once, in order, and recovered: true', async (t) => {
      const { Socket } = await import('../../src/client/index.ts');
      const [a, b] = nodes;
      const clients = Array.from({ length: CLIENTS }, () => {
        const socket = new Socket(`ws://127.0.0.1:${front.port}/socket`, { page: false });
        sockets.push(socket);
        const channel = socket.channel(TOPIC);
        const state = { got: [] as number[], joins: [] as { wasRecovering: boolean; recovered: boolean; reason?: string }[] };
        channel.on('msg', (p) => {
          state.got.push((p as { seq: number }).seq);
        });
        channel.onLifecycle('joined', (c) => {
          state.joins.push({ wasRecovering: c.wasRecovering, recovered: c.recovered, reason: c.reason });
        });
        socket.connect();
        void channel.join();
        return state;
      });
      const deadline = (ms: number) => performance.now() + ms;
      const until = async (pred: () => boolean, what: string, ms: number) => {
        const end = deadline(ms);
        while (!pred()) {
          if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await until(() => clients.every((c) => c.joins.length === 1), 'every client to join through node a', 10_000);

      let progress = 0;
      b.proc.on('message', (m: { type: string; seq?: number }) => {
        if (m.type === 'progress') progress = m.seq!;
      });
      b.proc.send({ type: 'publish', total: TOTAL });
      await until(() => progress >= TOTAL / 4, 'a quarter of the stream', 10_000);
      front.retarget(b.port);
      a.proc.kill('SIGKILL');
      await a.exited;
      const killedAt = performance.now();

      await until(() => clients.every((c) => c.got.length >= TOTAL), `all ${TOTAL} messages on every client`, 30_000);
      t.diagnostic(`every client had all ${TOTAL} messages ${(performance.now() - killedAt).toFixed(0)} ms after node a was killed`);
      await new Promise((r) => setTimeout(r, 200)); // a duplicate would arrive in this window
      const expected = Array.from({ length: TOTAL }, (_, i) => i + 1);
      for (const c of clients) {
        assert.deepEqual(c.got, expected);
        assert.equal(c.joins.length, 2, 'one join on node a, one rejoin on node b');
        assert.deepEqual(c.joins[1], { wasRecovering: true, recovered: true, reason: undefined });
      }
    });
  });
}
