/**
 * The Redis broker on a real Redis Cluster (3 masters, 3 replicas on loopback, started once for this file):
 * the broker suite and the channel scenarios, fan-out and recovery over topics in every slot range, and a
 * master killed with SIGKILL (last: the cluster is left with one master without a replica).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import { createCluster } from 'redis';
import { RedisBroker } from '../../src/broker/redis.ts';
import type { Broker, BrokerMessage, StreamPosition } from '../../src/broker/types.ts';
import { clusterSkipReason, startRedisCluster, type LocalRedisCluster } from '../helpers/redis-cluster.ts';
import { runBrokerSuite } from './broker-suite.ts';
import { redisBrokerDriver } from './redis-driver.ts';
import { runChannelScenarios } from './channel-scenarios.ts';
import { startServe } from '../helpers/serve-process.ts';
import { pollUntil } from '../helpers/poll.ts';

const skip = clusterSkipReason();

let cluster: LocalRedisCluster | null = null;
let admin: ReturnType<typeof createCluster> | null = null;

before(async () => {
  if (skip) return;
  cluster = await startRedisCluster();
  admin = createCluster({ rootNodes: cluster.urls.slice(0, 3).map((url) => ({ url })) });
  await admin.connect();
});
after(async () => {
  await admin?.close().catch(() => admin?.destroy());
  await cluster?.stop();
});

function live(): LocalRedisCluster {
  assert.ok(cluster, 'the cluster is up');
  return cluster;
}

/** Deletes a namespace's keys on every master. */
async function deleteNamespace(namespace: string): Promise<void> {
  const c = live();
  for (const port of c.masters()) {
    const keys = c.cli(port, '--scan', '--pattern', `${namespace}:*`).split('\n').filter(Boolean);
    for (const key of keys) await admin!.del(key);
  }
}

/** Kills this node's pub/sub connections on every master at once (server side, like a network cut). */
async function dropSubscriptions(broker: Broker): Promise<void> {
  const name = `tether:${broker.nodeId}:sub`;
  const clients = await Promise.all(admin!.masters.map((m) => admin!.nodeClient(m)));
  const lists = await Promise.all(clients.map((c) => c.sendCommand(['CLIENT', 'LIST'])));
  const ids = lists.map((list) =>
    String(list).split('\n').filter((l) => l.includes(` name=${name} `)).map((l) => /\bid=(\d+)/.exec(l)![1]),
  );
  if (ids.flat().length === 0) throw new Error(`no pub/sub connection named ${name}`);
  await Promise.all(clients.flatMap((c, i) => ids[i].map((id) => c.sendCommand(['CLIENT', 'KILL', 'ID', id]))));
}

runBrokerSuite(
  redisBrokerDriver({
    name: 'redis cluster (3 masters, 3 replicas)',
    skip,
    connection: () => ({ cluster: live().urls.slice(0, 2) }),
    deleteKey: (key) => admin!.del(key),
    cleanup: deleteNamespace,
    dropConnection: dropSubscriptions,
  }),
);

runChannelScenarios({
  name: 'redis cluster',
  skip,
  broker: (namespace) => new RedisBroker({ cluster: live().urls, keyPrefix: `${namespace}:` }),
  cleanup: deleteNamespace,
  multiNode: true,
});

/** Topics whose channels hash to every master: `perMaster` topics per master, found by walking names. */
async function topicsOnEveryMaster(
  prefix: string,
  perMaster: number,
  base = 'feed:s',
): Promise<{ topics: string[]; owner: Map<string, number> }> {
  const slots = (await admin!.sendCommand(undefined, true, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
  const owners = slots.map(([from, to, master]) => ({ from: Number(from), to: Number(to), port: Number(master[1]) }));
  const owner = new Map<string, number>();
  const count = new Map<number, number>();
  const topics: string[] = [];
  for (let i = 0; topics.length < perMaster * 3 && i < 10_000; i++) {
    const topic = `${base}${i}`;
    const slot = calculateSlot(`${prefix}m:{${topic}}`);
    const port = owners.find((o) => slot >= o.from && slot <= o.to)!.port;
    if ((count.get(port) ?? 0) >= perMaster) continue;
    count.set(port, (count.get(port) ?? 0) + 1);
    owner.set(topic, port);
    topics.push(topic);
  }
  assert.equal(new Set(owner.values()).size, 3, 'topics on all three masters');
  return { topics, owner };
}

describe('redis cluster: topics in every slot range', { skip, timeout: 60_000 }, () => {
  it('fans out across nodes and recovers a cut subscriber from the streams of all three masters', async () => {
    const ns = `cl${process.pid}spread`;
    const prefix = `${ns}:`;
    const { topics } = await topicsOnEveryMaster(prefix, 20);
    const [a, b] = [new RedisBroker({ cluster: live().urls, keyPrefix: prefix }), new RedisBroker({ cluster: live().urls.slice(3), keyPrefix: prefix })];
    a.on('error', () => {});
    b.on('error', () => {});
    await Promise.all([a.start(), b.start()]);
    try {
      await b.subscribe(topics);
      const got = new Map<string, BrokerMessage[]>();
      b.on('message', (m) => got.set(m.topic, [...(got.get(m.topic) ?? []), m]));
      const last = new Map<string, StreamPosition>();
      for (const t of topics) last.set(t, (await a.publish({ topic: t, event: 'n', payload: { n: 1 } }, { maxMessages: 100 })).position!);
      const deadline = Date.now() + 5000;
      while (topics.some((t) => !got.get(t)?.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(topics.filter((t) => got.get(t)?.length !== 1), [], 'every topic delivered once across nodes');

      const gaps: string[][] = [];
      b.on('gap', (g) => gaps.push(g));
      await dropSubscriptions(b);
      for (const t of topics) await a.publish({ topic: t, event: 'n', payload: { n: 2 } }, { maxMessages: 100 });
      while (gaps.flat().length < topics.length && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(gaps.flat().sort(), [...topics].sort(), 'a gap names every topic of every shard');
      for (const t of topics) {
        const r = await b.history.range(t, last.get(t)!);
        assert.ok(r.recovered, `${t} recovered`);
        const seen = new Set((got.get(t) ?? []).map((m) => m.position!.offset));
        const missing = r.entries.filter((e) => !seen.has(e.offset));
        assert.ok(missing.length <= 1 && r.entries.length === 1 && r.entries[0].offset === 2, `${t}: the cut's message is in the stream`);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
      await deleteNamespace(ns);
    }
  });
});

describe('redis cluster: push de-duplication', { skip, timeout: 30_000 }, () => {
  it('a push id claimed on one node is seen running, then done with its outcome, on another, for scopes on every master', async () => {
    const ns = `cl${process.pid}dedup`;
    const [a, b] = [new RedisBroker({ cluster: live().urls, keyPrefix: `${ns}:` }), new RedisBroker({ cluster: live().urls, keyPrefix: `${ns}:` })];
    await Promise.all([a.start(), b.start()]);
    try {
      const scopes = Array.from({ length: 30 }, (_, i) => `client-${i}`);
      const map = (await admin!.sendCommand(undefined, true, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
      const ownerOf = (slot: number) => map.find(([from, to]) => slot >= from && slot <= to)![2][1];
      assert.equal(new Set(scopes.map((sc) => ownerOf(calculateSlot(a.keys.dedup(sc, 'push-1'))))).size, 3, 'scopes on all three masters');
      for (const scope of scopes) {
        assert.deepEqual(await a.dedup.claim(scope, 'push-1', 5000), { state: 'new' });
        assert.deepEqual(await b.dedup.claim(scope, 'push-1', 5000), { state: 'running' });
        await a.dedup.complete(scope, 'push-1', { kind: 'reply', status: 'ok', response: { scope } }, 5000);
        assert.deepEqual(await b.dedup.claim(scope, 'push-1', 5000), { state: 'done', outcome: { kind: 'reply', status: 'ok', response: { scope } } });
        await b.dedup.release(scope, 'push-1');
        assert.deepEqual(await a.dedup.claim(scope, 'push-1', 5000), { state: 'new' });
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
      await deleteNamespace(ns);
    }
  });
});

describe('redis cluster: resharding', { skip, timeout: 30_000 }, () => {
  it('a topic whose slot moves to another master: gap, then live again there, history moved with it', async () => {
    const ns = `cl${process.pid}reshard`;
    const prefix = `${ns}:`;
    const { topics, owner } = await topicsOnEveryMaster(prefix, 1);
    const [topic, other] = topics;
    const [a, b] = [new RedisBroker({ cluster: live().urls, keyPrefix: prefix }), new RedisBroker({ cluster: live().urls, keyPrefix: prefix })];
    a.on('error', () => {});
    b.on('error', () => {});
    await Promise.all([a.start(), b.start()]);
    try {
      await a.subscribe(topics);
      const got: string[] = [];
      const gaps: string[][] = [];
      a.on('message', (m) => got.push(`${m.topic}:${m.event}`));
      a.on('gap', (g) => gaps.push(g));
      const first = await b.publish({ topic, event: 'before', payload: {} }, { maxMessages: 10 });
      const until = async (ok: () => boolean, what: string) => {
        const deadline = Date.now() + 10_000;
        while (!ok()) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; got ${got}, gaps ${JSON.stringify(gaps)}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await until(() => got.includes(`${topic}:before`), 'the first message');
      live().moveSlot(calculateSlot(a.keys.channel(topic)), owner.get(other)!);
      await until(() => gaps.length > 0, 'a gap');
      assert.deepEqual(gaps, [[topic]], 'a gap for the moved topic only');
      await until(() => a.isReady(), 'ready again');
      await b.publish({ topic, event: 'after', payload: {} }, { maxMessages: 10 });
      await until(() => got.includes(`${topic}:after`), 'a live message from the new owner');
      const r = await a.history.range(topic, first.position!);
      assert.ok(r.recovered && r.entries.map((e) => e.event).join() === 'after', 'the stream moved with the slot');
    } finally {
      await Promise.all([a.close(), b.close()]);
      await deleteNamespace(ns);
    }
  });
});

describe('tether serve --redis-cluster', { skip, timeout: 30_000 }, () => {
  it('two servers on one cluster: a shout on one reaches a client of the other', async () => {
    const ns = `cl${process.pid}serve`;
    const args = ['--redis-cluster', live().urls.slice(0, 2).join(','), '--redis-prefix', `${ns}:`, '--log-level', 'warn'];
    const [s1, s2] = await Promise.all([startServe([...args, '--node-id', 'serve-1']), startServe([...args, '--node-id', 'serve-2'])]);
    assert.match(s1.output(), /broker {5}redis cluster redis:\/\/127\.0\.0\.1:\d+\/?,redis:\/\/127\.0\.0\.1:\d+\/? \(prefix cl\d+serve:\), node serve-1/);
    const open = async (url: string, user: string) => {
      const ws = new WebSocket(`${url}/websocket?vsn=2.0.0&user=${user}`);
      const frames: unknown[][] = [];
      ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)) as unknown[]);
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
      ws.send(JSON.stringify(['1', '1', 'room:cl', 'phx_join', {}]));
      return { ws, frames };
    };
    const until = async (ok: () => boolean, what: string) => {
      const deadline = Date.now() + 5000;
      while (!ok()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const ann = await open(s1.wsUrl, 'ann');
    const bob = await open(s2.wsUrl, 'bob');
    const joinedOk = (c: { frames: unknown[][] }) => c.frames.some((f) => f[3] === 'phx_reply' && (f[4] as { status: string }).status === 'ok');
    await until(() => joinedOk(ann) && joinedOk(bob), 'both joins');
    bob.ws.send(JSON.stringify(['1', '2', 'room:cl', 'shout', { hi: 'across the cluster' }]));
    await until(() => ann.frames.some((f) => f[3] === 'shout'), "bob's shout on ann's server");
    assert.deepEqual(ann.frames.find((f) => f[3] === 'shout')![4], { hi: 'across the cluster' });
    ann.ws.close();
    bob.ws.close();
    s1.child.kill('SIGTERM');
    s2.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all([s1.exited, s2.exited]), [0, 0], 'both drained and exited 0');
    await deleteNamespace(ns);
  });

  // The "done means": one machine's worth of Tether (every core) against a Redis Cluster.
  it('--workers 2: clients on both workers, topics on all three masters, every shout to every client exactly once', async () => {
    const ns = `cl${process.pid}workers`;
    const { topics } = await topicsOnEveryMaster(`${ns}:`, 2, 'room:w');
    const server = await startServe(['--workers', '2', '--redis-cluster', live().urls[0], '--redis-prefix', `${ns}:`, '--log-level', 'warn']);
    await pollUntil(() => server.output().includes('all 2 worker(s) ready'), 'both workers ready', 15_000);
    const clients = await Promise.all(
      ['ann', 'bob', 'cid', 'dot'].map(async (user) => {
        const ws = new WebSocket(`${server.wsUrl}/websocket?vsn=2.0.0&user=${user}`);
        const shouts = new Map<string, number>(); // "topic n" -> times received
        const joined = new Set<string>();
        ws.onmessage = (e) => {
          const [, , topic, event, payload] = JSON.parse(String(e.data)) as [unknown, unknown, string, string, { n?: number; status?: string }];
          if (event === 'shout') shouts.set(`${topic} ${payload.n}`, (shouts.get(`${topic} ${payload.n}`) ?? 0) + 1);
          if (event === 'phx_reply' && payload.status === 'ok') joined.add(topic);
        };
        await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
        topics.forEach((t, i) => ws.send(JSON.stringify([String(i), String(i), t, 'phx_join', {}])));
        return { ws, shouts, joined };
      }),
    );
    await pollUntil(() => clients.every((c) => c.joined.size === topics.length), 'every client joined every topic');
    // Workers report their connection counts every second; node:cluster hands connections out round-robin.
    let perWorker: number[] = [];
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
      perWorker = [...metrics.matchAll(/^tether_worker_connections\{worker="[^"]+"\} (\d+)$/gm)].map((m) => Number(m[1]));
      if (perWorker.length === 2 && perWorker.every((c) => c > 0) && perWorker[0] + perWorker[1] === 4) break;
    }
    // Round-robin is per accepted connection (a health probe takes a turn too), so 2 + 2 is not guaranteed: 1 + 3 was seen.
    assert.equal(perWorker.length, 2, 'two workers report');
    assert.ok(perWorker.every((c) => c > 0), `the clients are spread over both workers: ${perWorker}`);
    assert.equal(perWorker[0] + perWorker[1], 4, 'every client counted once');
    let n = 0;
    for (const c of clients) for (const t of topics) c.ws.send(JSON.stringify([null, String(100 + n), t, 'shout', { n: n++ }]));
    const want = new Set(clients.flatMap((_, ci) => topics.map((t, ti) => `${t} ${ci * topics.length + ti}`)));
    assert.equal(want.size, n);
    await pollUntil(() => clients.every((c) => c.shouts.size === n), 'every shout at every client', 10_000);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive by now
    for (const c of clients) {
      assert.deepEqual([...c.shouts.keys()].toSorted(), [...want].toSorted());
      assert.ok([...c.shouts.values()].every((times) => times === 1), 'each shout once');
    }
    for (const c of clients) c.ws.close();
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, 'the primary drained both workers and exited 0');
    await deleteNamespace(ns);
  });
});

/**
 * Last in this file: it kills a master. A publisher (node a) writes history-enabled messages round-robin over
 * 30 topics (10 per master) every 10 ms; node b subscribes to all of them. The master holding the node
 * liveness set is SIGKILLed; its replica takes over. Measured and printed: when b heard of the gap, when
 * publishes on the dead master's topics succeeded again, how many were rejected meanwhile (the publisher is
 * told), how many acknowledged ones the new master lost (async replication), what b missed live and what it
 * recovered from the streams.
 */
describe('redis cluster: a master killed with SIGKILL', { skip, timeout: 30_000 }, () => {
  it('fails over; clients on the dead shard get a gap, recover from the replica, and the other shards lose nothing', async (t) => {
    const ns = `cl${process.pid}failover`;
    const prefix = `${ns}:`;
    const { topics, owner } = await topicsOnEveryMaster(prefix, 10);
    const opts = { cluster: live().urls, keyPrefix: prefix, heartbeatMs: 1000, nodeTimeoutMs: 5000 };
    const a = new RedisBroker(opts);
    const b = new RedisBroker(opts);
    a.on('error', () => {});
    b.on('error', () => {});
    await Promise.all([a.start(), b.start()]);
    const nodesSlot = calculateSlot(a.keys.nodes());
    const slots = (await admin!.sendCommand(undefined, true, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
    const victim = Number(slots.find(([from, to]) => nodesSlot >= from && nodesSlot <= to)![2][1]);
    const onVictim = new Set(topics.filter((tp) => owner.get(tp) === victim));
    try {
      await b.subscribe(topics);
      const acked = new Map<string, StreamPosition[]>(topics.map((tp) => [tp, []]));
      const received = new Map<string, StreamPosition[]>(topics.map((tp) => [tp, []]));
      const gapAt = new Map<string, number>();
      const downs: string[] = [];
      const receivedIds = new Map<string, number[]>(topics.map((tp) => [tp, []]));
      const rejectedIds = new Set<number>();
      b.on('message', (m) => {
        received.get(m.topic)!.push(m.position!);
        receivedIds.get(m.topic)!.push((m.payload as { i: number }).i);
      });
      b.on('gap', (g) => {
        for (const tp of g) if (!gapAt.has(tp)) gapAt.set(tp, Date.now());
      });
      b.on('nodeDown', (n) => downs.push(n));
      let rejected = 0;
      let killedAt = 0;
      let firstRejectAt = 0;
      let backAt = 0;
      let stop = false;
      const publisher = (async () => {
        for (let i = 0; !stop; i++) {
          const topic = topics[i % topics.length];
          const p = a.publish({ topic, event: 'n', payload: { i } }, { maxMessages: 10_000 }).then(
            (m) => {
              acked.get(topic)!.push(m.position!);
              if (killedAt && onVictim.has(topic) && firstRejectAt && !backAt) backAt = Date.now();
            },
            () => {
              rejectedIds.add(i);
              rejected++;
              if (killedAt && !firstRejectAt) firstRejectAt = Date.now();
            },
          );
          if (i % topics.length === topics.length - 1) await p;
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await new Promise((r) => setTimeout(r, 1000));
      killedAt = Date.now();
      live().kill(victim);
      const deadline = killedAt + 20_000;
      while ((!backAt || gapAt.size < onVictim.size) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1000)); // traffic after the failover
      stop = true;
      await publisher;
      await new Promise((r) => setTimeout(r, 300));

      let missedLive = 0;
      let recovered = 0;
      let notRecoverable = 0;
      let lostAcked = 0;
      let reusedOffsets = 0;
      let rejectedYetDelivered = 0;
      for (const tp of topics) {
        const got = received.get(tp)!;
        const sent = acked.get(tp)!;
        const ids = receivedIds.get(tp)!;
        rejectedYetDelivered += ids.filter((i) => rejectedIds.has(i)).length;
        assert.ok(ids.every((i, k) => k === 0 || i > ids[k - 1]), `${tp}: in order, no duplicates: ${ids}`);
        if (!onVictim.has(tp)) {
          // A publish the publisher saw fail may still have been delivered (its reply was lost): not a loss.
          const seen = new Set(got.map((p) => `${p.epoch}/${p.offset}`));
          assert.deepEqual(sent.filter((p) => !seen.has(`${p.epoch}/${p.offset}`)), [], `${tp} (a surviving shard): every acknowledged message live`);
          continue;
        }
        assert.ok(gapAt.has(tp), `${tp}: b was told of the gap`);
        const seen = new Set(got.map((p) => `${p.epoch}/${p.offset}`));
        const missing = sent.filter((p) => !seen.has(`${p.epoch}/${p.offset}`));
        missedLive += missing.length;
        for (let i = 1; i < got.length; i++) if (got[i].offset <= got[i - 1].offset) reusedOffsets++;
        // What b would ask for on recovery: everything after the last position it had before the gap.
        const before = got.filter((p) => p.offset <= (sent.find((s) => missing.includes(s))?.offset ?? Infinity) - 1).at(-1);
        if (!before || missing.length === 0) continue;
        const r = await b.history.range(tp, before);
        if (!r.recovered) {
          notRecoverable++;
          continue;
        }
        const inStream = new Set(r.entries.map((e) => `${r.position.epoch}/${e.offset}`));
        recovered += missing.filter((p) => inStream.has(`${p.epoch}/${p.offset}`)).length;
        lostAcked += missing.filter((p) => !inStream.has(`${p.epoch}/${p.offset}`)).length;
      }
      const gapMs = Math.max(...[...gapAt.values()].map((at) => at - killedAt));
      const figures = {
        'kill -> gap on every dead-shard topic (ms)': gapMs,
        'kill -> first rejected publish (ms)': firstRejectAt ? firstRejectAt - killedAt : null,
        'kill -> publishes on the dead shard succeed again (ms)': backAt - killedAt,
        'publishes rejected (publisher told)': rejected,
        'of those, delivered all the same (reply lost)': rejectedYetDelivered,
        'acknowledged, missed live by b': missedLive,
        'of those, recovered from the new master': recovered,
        'acknowledged but lost by the failover': lostAcked,
        'topics answering recovered:false': notRecoverable,
        'offsets seen going backwards': reusedOffsets,
        'nodeDown events (false deaths)': downs.length,
      };
      t.diagnostic(JSON.stringify(figures));
      console.log('failover figures', figures);
      assert.ok(backAt > 0, 'publishes on the dead shard succeed again');
      assert.deepEqual(downs, [], 'no node declared dead because the liveness set was failing over');
      assert.equal(gapAt.size, onVictim.size, 'a gap for every topic of the dead shard, none for the others');
      assert.equal(recovered + lostAcked + (notRecoverable ? missedLive - recovered - lostAcked : 0), missedLive);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
