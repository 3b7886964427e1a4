/**
 * One scenario suite for every Broker driver (memory, Redis). A driver says how to make brokers that share a
 * namespace, how time passes for TTLs, and how history is lost; scenarios that need several nodes or a
 * connection that can be cut run only where the driver provides them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JsonObject } from '../../src/protocol/frame.ts';
import type { Broker, BrokerMessage, InboxErrorCode, PresenceChange, StreamPosition } from '../../src/broker/types.ts';

/** What a scenario may ask of a new broker; each driver maps it to its own options. */
export interface BrokerOptions {
  nodeId?: string;
  historyMaxMessages?: number;
  historyMaxMessageBytes?: number;
  inboxMaxMessageBytes?: number;
  inboxMaxPendingRequests?: number;
}

export interface BrokerDriver {
  name: string;
  /** Set to skip every scenario, with the reason printed. */
  skip?: string;
  /** A fresh, not yet started broker in `namespace` (brokers of one namespace form one cluster). */
  create(namespace: string, options?: BrokerOptions): Broker;
  /** Lets `ms` pass for TTL purposes: a virtual clock, or real sleep. */
  advance(namespace: string, ms: number): Promise<void>;
  /** A TTL small enough that `advance(ttl * 2)` stays cheap. */
  ttlMs: number;
  /** Makes the store lose a topic's history (a restart of memory, a lost stream in Redis). Returns a store view. */
  loseHistory(namespace: string, broker: Broker, topic: string): Promise<Broker['history']>;
  cleanup(namespace: string): Promise<void>;
  /** Multi-node abilities (Redis). */
  cluster?: {
    /** Cuts the broker's pub/sub connection from the server side. */
    dropConnection(broker: Broker): Promise<void>;
    /** Stops the node's heartbeat without closing anything (a crash, or a long pause, as the others see it). */
    crash(broker: Broker): void;
    /** Lets a node `crash`ed this way heartbeat again (it wakes from the pause). */
    revive(broker: Broker): void;
    /** How long until a crashed node is declared dead, at most. */
    deathWithinMs: number;
  };
  teardown?(): Promise<void>;
}

let namespaceSeq = 0;

/** Collects one event type; `waitFor` resolves once the predicate holds or fails with what was seen. */
function recorder<T>(): { items: T[]; push: (item: T) => void; waitFor: (pred: (items: T[]) => boolean, what: string, ms?: number) => Promise<void> } {
  const items: T[] = [];
  return {
    items,
    push: (item: T) => items.push(item),
    async waitFor(pred, what, ms = 5000) {
      const deadline = Date.now() + ms;
      while (!pred(items)) {
        if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}; saw ${items.length} items`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

function messages(broker: Broker) {
  const r = recorder<BrokerMessage>();
  broker.on('message', r.push);
  return r;
}

function presences(broker: Broker) {
  const r = recorder<PresenceChange>();
  broker.on('presence', r.push);
  return r;
}

const bytes = () => Uint8Array.from({ length: 256 }, (_, i) => i);

/** Asserts an InboxError with this code. */
function inboxError(code: InboxErrorCode): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.equal((error as Error).name, 'InboxError');
    assert.equal((error as { code?: string }).code, code);
    return true;
  };
}

/** A promise to settle from outside (a handler held open by the test). */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export function runBrokerSuite(driver: BrokerDriver): void {
  describe(`broker driver: ${driver.name}`, { skip: driver.skip, timeout: 120_000 }, () => {
    const started: Broker[] = [];
    const namespaces: string[] = [];

    /** A started broker in a namespace unique to this test run. */
    async function node(namespace: string, options?: BrokerOptions): Promise<Broker> {
      const broker = driver.create(namespace, options);
      broker.on('error', () => {}); // cut connections report errors by design; scenarios assert on events instead
      await broker.start();
      started.push(broker);
      return broker;
    }
    function namespace(): string {
      const ns = `t${process.pid}x${Date.now().toString(36)}x${++namespaceSeq}`;
      namespaces.push(ns);
      return ns;
    }

    after(async () => {
      await Promise.all(started.map((b) => b.close()));
      for (const ns of namespaces) await driver.cleanup(ns);
      await driver.teardown?.();
    });

    it('delivers to itself in publish order, stamped with its node id', async () => {
      const b = await node(namespace());
      const got = messages(b);
      await b.subscribe(['room:a']);
      for (let i = 0; i < 100; i++) void b.publish({ topic: 'room:a', event: 'n', payload: { i } });
      await got.waitFor((m) => m.length === 100, '100 messages');
      assert.deepEqual(got.items.map((m) => (m.payload as JsonObject).i), Array.from({ length: 100 }, (_, i) => i));
      assert.ok(got.items.every((m) => m.origin === b.nodeId && m.topic === 'room:a' && m.position === undefined));
    });

    it('carries exclude and returns the published message', async () => {
      const b = await node(namespace());
      const got = messages(b);
      await b.subscribe(['room:x']);
      const sent = await b.publish({ topic: 'room:x', event: 'e', payload: { a: 1 }, exclude: 'conn-7' });
      assert.equal(sent.origin, b.nodeId);
      assert.equal(sent.exclude, 'conn-7');
      await got.waitFor((m) => m.length === 1, 'the message');
      assert.equal(got.items[0].exclude, 'conn-7');
      assert.deepEqual(got.items[0].payload, { a: 1 });
    });

    it('delivers only subscribed topics, and unsubscribe stops delivery', async () => {
      const b = await node(namespace());
      const got = messages(b);
      await b.subscribe(['room:keep', 'room:drop']);
      await b.publish({ topic: 'room:other', event: 'never', payload: {} });
      await b.publish({ topic: 'room:drop', event: 'before', payload: {} });
      await got.waitFor((m) => m.length === 1, 'the message before unsubscribe');
      await b.unsubscribe(['room:drop']);
      await b.publish({ topic: 'room:drop', event: 'after', payload: {} });
      await b.publish({ topic: 'room:keep', event: 'marker', payload: {} });
      await got.waitFor((m) => m.some((x) => x.event === 'marker'), 'the marker');
      assert.deepEqual(got.items.map((m) => m.event), ['before', 'marker']);
    });

    it('coalesces subscribe calls made in one turn and they all resolve', async () => {
      const b = await node(namespace());
      const got = messages(b);
      const topics = Array.from({ length: 50 }, (_, i) => `room:s${i}`);
      await Promise.all(topics.map((t) => b.subscribe([t])));
      await Promise.all(topics.map((t) => b.publish({ topic: t, event: 'e', payload: {} })));
      await got.waitFor((m) => m.length === 50, '50 messages');
      assert.deepEqual(new Set(got.items.map((m) => m.topic)), new Set(topics));
    });

    it('keeps history: offsets +1 within an epoch, range returns the gap in order', async () => {
      const b = await node(namespace());
      const got = messages(b);
      await b.subscribe(['hist:a']);
      const start = await b.history.position('hist:a');
      assert.equal(start.offset, 0);
      const positions: StreamPosition[] = [];
      for (let i = 1; i <= 5; i++) {
        positions.push((await b.publish({ topic: 'hist:a', event: `e${i}`, payload: { i } }, { maxMessages: 100 })).position!);
      }
      assert.deepEqual(positions.map((p) => p.offset), [1, 2, 3, 4, 5]);
      assert.ok(positions.every((p) => p.epoch === start.epoch));
      await got.waitFor((m) => m.length === 5, '5 live messages');
      assert.deepEqual(got.items.map((m) => m.position), positions);

      const r = await b.history.range('hist:a', { epoch: start.epoch, offset: 2 });
      assert.ok(r.recovered);
      assert.deepEqual(r.entries, [3, 4, 5].map((i) => ({ offset: i, event: `e${i}`, payload: { i } })));
      assert.deepEqual(r.position, { epoch: start.epoch, offset: 5 });
      const none = await b.history.range('hist:a', { epoch: start.epoch, offset: 5 });
      assert.deepEqual(none, { recovered: true, entries: [], position: { epoch: start.epoch, offset: 5 } });
      assert.deepEqual(await b.history.position('hist:a'), { epoch: start.epoch, offset: 5 });
    });

    it('appends through the store alone with the same numbering', async () => {
      const b = await node(namespace());
      const p1 = await b.history.append('hist:s', 'a', { n: 1 }, { maxMessages: 10 });
      const p2 = await b.history.append('hist:s', 'b', new Uint8Array([9, 8]), { maxMessages: 10 });
      assert.equal(p1.offset, 1);
      assert.deepEqual(p2, { epoch: p1.epoch, offset: 2 });
      const r = await b.history.range('hist:s', { epoch: p1.epoch, offset: 0 });
      assert.ok(r.recovered);
      assert.deepEqual(r.entries, [
        { offset: 1, event: 'a', payload: { n: 1 } },
        { offset: 2, event: 'b', payload: new Uint8Array([9, 8]) },
      ]);
    });

    it('says epoch_changed for a foreign epoch, a future offset, and after the history is lost', async () => {
      const ns = namespace();
      const b = await node(ns);
      const p = (await b.publish({ topic: 'hist:e', event: 'e', payload: {} }, { maxMessages: 10 })).position!;
      const foreign = await b.history.range('hist:e', { epoch: 'not-ours', offset: 1 });
      assert.deepEqual(foreign, { recovered: false, reason: 'epoch_changed', position: p });
      const future = await b.history.range('hist:e', { epoch: p.epoch, offset: 2 });
      assert.equal(future.recovered, false);
      assert.equal(!future.recovered && future.reason, 'epoch_changed');

      const store = await driver.loseHistory(ns, b, 'hist:e');
      const lost = await store.range('hist:e', p);
      assert.equal(lost.recovered, false);
      assert.equal(!lost.recovered && lost.reason, 'epoch_changed');
      assert.notEqual(lost.position.epoch, p.epoch);
      const next = await store.append('hist:e', 'e', {}, { maxMessages: 10 });
      assert.deepEqual(next, { epoch: lost.position.epoch, offset: 1 });
    });

    it('says gap_too_large when the window no longer holds the gap, never a partial replay', async () => {
      const b = await node(namespace());
      let p: StreamPosition | undefined;
      for (let i = 1; i <= 10; i++) p = await b.history.append('hist:g', 'e', { i }, { maxMessages: 3 });
      const epoch = p!.epoch;
      const tooOld = await b.history.range('hist:g', { epoch, offset: 6 });
      assert.deepEqual(tooOld, { recovered: false, reason: 'gap_too_large', position: { epoch, offset: 10 } });
      const fits = await b.history.range('hist:g', { epoch, offset: 7 });
      assert.ok(fits.recovered);
      assert.deepEqual(fits.entries.map((e) => e.offset), [8, 9, 10]);
    });

    it('caps a policy maxMessages at historyMaxMessages', async () => {
      const b = await node(namespace(), { historyMaxMessages: 4 });
      let p: StreamPosition | undefined;
      for (let i = 1; i <= 10; i++) p = await b.history.append('hist:cap', 'e', { i }, { maxMessages: 100 });
      const epoch = p!.epoch;
      assert.deepEqual(await b.history.range('hist:cap', { epoch, offset: 5 }), { recovered: false, reason: 'gap_too_large', position: { epoch, offset: 10 } });
      const fits = await b.history.range('hist:cap', { epoch, offset: 6 });
      assert.ok(fits.recovered);
      assert.deepEqual(fits.entries.map((e) => e.offset), [7, 8, 9, 10]);
    });

    it('publishes a message over historyMaxMessageBytes without storing it: a gap across it is not recovered', async () => {
      const b = await node(namespace(), { historyMaxMessageBytes: 100 });
      const seen = messages(b);
      await b.subscribe(['hist:big']);
      const policy = { maxMessages: 100 };
      const p1 = await b.history.append('hist:big', 'small', { n: 1 }, policy);
      const big = await b.publish({ topic: 'hist:big', event: 'big', payload: { blob: 'x'.repeat(200) } }, policy);
      await b.publish({ topic: 'hist:big', event: 'after', payload: { n: 3 } }, policy);
      await seen.waitFor((list) => list.some((m) => m.event === 'after'), 'the message after the big one');
      assert.ok(seen.items.some((m) => m.event === 'big'), 'the big message still went out live');
      assert.deepEqual(big.position, { epoch: p1.epoch, offset: 2 });
      for (const since of [0, 1]) {
        assert.deepEqual(await b.history.range('hist:big', { epoch: p1.epoch, offset: since }), { recovered: false, reason: 'gap_too_large', position: { epoch: p1.epoch, offset: 3 } });
      }
      const after = await b.history.range('hist:big', { epoch: p1.epoch, offset: 2 });
      assert.ok(after.recovered);
      assert.deepEqual(after.entries.map((e) => e.event), ['after']);
    });

    it('expires history after ttlMs', async () => {
      const ns = namespace();
      const b = await node(ns);
      const ttlMs = driver.ttlMs;
      const p1 = await b.history.append('hist:t', 'old', {}, { ttlMs });
      await driver.advance(ns, ttlMs * 2);
      const p2 = await b.history.append('hist:t', 'new', {}, { ttlMs });
      assert.deepEqual(p2, { epoch: p1.epoch, offset: 2 });
      const expired = await b.history.range('hist:t', { epoch: p1.epoch, offset: 0 });
      assert.deepEqual(expired, { recovered: false, reason: 'gap_too_large', position: p2 });
      const fresh = await b.history.range('hist:t', p1);
      assert.ok(fresh.recovered);
      assert.deepEqual(fresh.entries, [{ offset: 2, event: 'new', payload: {} }]);
    });

    it('carries binary payloads byte for byte, live and from history', async () => {
      const b = await node(namespace());
      const got = messages(b);
      await b.subscribe(['bin:a']);
      await b.publish({ topic: 'bin:a', event: 'raw', payload: bytes() });
      const sent = await b.publish({ topic: 'bin:a', event: 'kept', payload: bytes() }, { maxMessages: 5 });
      await got.waitFor((m) => m.length === 2, 'two binary messages');
      for (const m of got.items) {
        assert.equal(Object.getPrototypeOf(m.payload), Uint8Array.prototype);
        assert.deepEqual(m.payload, bytes());
      }
      const r = await b.history.range('bin:a', { epoch: sent.position!.epoch, offset: 0 });
      assert.ok(r.recovered);
      assert.deepEqual(r.entries[0].payload, bytes());
    });

    it('loops presence changes back as presence events from this node', async () => {
      const b = await node(namespace());
      const got = presences(b);
      await b.subscribe(['room:p']);
      await b.publishPresence({ topic: 'room:p', key: 'alice', kind: 'join', meta: { phx_ref: 'r1', status: 'here' } });
      await b.publishPresence({ topic: 'room:p', key: 'alice', kind: 'leave', meta: { phx_ref: 'r1', status: 'here' } });
      await got.waitFor((c) => c.length === 2, 'join and leave');
      assert.deepEqual(got.items, [
        { topic: 'room:p', key: 'alice', node: b.nodeId, kind: 'join', meta: { phx_ref: 'r1', status: 'here' } },
        { topic: 'room:p', key: 'alice', node: b.nodeId, kind: 'leave', meta: { phx_ref: 'r1', status: 'here' } },
      ]);
    });

    describe('inbox', () => {
      it('sends to itself, answers its own requests, and stops when told', async () => {
        const b = await node(namespace());
        const got = recorder<[string, string]>();
        const stop = b.inbox.on('note', (data, from) => got.push([data, from]));
        const stopHandling = b.inbox.handle('echo', async (data, { from }) => `${from}:${data}`);
        assert.equal(await b.inbox.send(b.nodeId, 'note', 'hello'), true);
        await got.waitFor((items) => items.length === 1, 'the note');
        assert.deepEqual(got.items, [['hello', b.nodeId]]);
        assert.equal(await b.inbox.request(b.nodeId, 'echo', 'ping', 5000), `${b.nodeId}:ping`);
        stop();
        stopHandling();
        // No handler: null at once, not after the timeout.
        assert.equal(await b.inbox.request(b.nodeId, 'echo', 'ping', 60_000), null);
        await b.inbox.send(b.nodeId, 'note', 'unheard');
        assert.equal(await b.inbox.request(b.nodeId, 'other', '', 60_000), null); // a round trip after the send
        assert.equal(got.items.length, 1);
      });

      it('answers null at once for a node id nobody uses, and false for a send there', async () => {
        const b = await node(namespace());
        assert.equal(await b.inbox.request('nobody-here', 'echo', 'x', 60_000), null);
        assert.equal(await b.inbox.request('not a node id {}', 'echo', 'x', 60_000), null);
        assert.equal(await b.inbox.send('nobody-here', 'note', 'x'), false);
      });

      it('answers null when the handler does not answer in time, and aborts the handler', async () => {
        const b = await node(namespace());
        const aborted = gate();
        b.inbox.handle('stuck', (_data, { signal }) => {
          signal.addEventListener('abort', aborted.open);
          return new Promise<string>(() => {});
        });
        assert.equal(await b.inbox.request(b.nodeId, 'stuck', '', 100), null);
        await aborted.promise;
      });

      it('refuses data over inboxMaxMessageBytes, in either direction, and a handler that throws fails the request', async () => {
        const b = await node(namespace(), { inboxMaxMessageBytes: 64 });
        assert.equal(b.inbox.maxMessageBytes, 64);
        b.inbox.handle('grow', async (data) => data.repeat(2));
        b.inbox.handle('throw', async () => {
          throw new Error('handler broke');
        });
        const big = 'é'.repeat(33); // 66 bytes in UTF-8, 33 characters
        await assert.rejects(b.inbox.request(b.nodeId, 'grow', big, 5000), inboxError('too_large'));
        await assert.rejects(b.inbox.send(b.nodeId, 'grow', big), inboxError('too_large'));
        assert.equal(await b.inbox.request(b.nodeId, 'grow', 'x'.repeat(32), 5000), 'x'.repeat(64));
        await assert.rejects(b.inbox.request(b.nodeId, 'grow', 'x'.repeat(33), 5000), inboxError('too_large'));
        await assert.rejects(b.inbox.request(b.nodeId, 'throw', '', 5000), inboxError('failed'));
      });

      it('refuses a request at once over inboxMaxPendingRequests, and serves again once answers come', async () => {
        const b = await node(namespace(), { inboxMaxPendingRequests: 2 });
        const release = gate();
        let calls = 0;
        b.inbox.handle('slow', async (data) => {
          calls++;
          await release.promise;
          return data;
        });
        const first = [b.inbox.request(b.nodeId, 'slow', '1', 5000), b.inbox.request(b.nodeId, 'slow', '2', 5000)];
        await assert.rejects(b.inbox.request(b.nodeId, 'slow', '3', 5000), inboxError('busy'));
        release.open();
        assert.deepEqual(await Promise.all(first), ['1', '2']);
        assert.equal(await b.inbox.request(b.nodeId, 'slow', '4', 5000), '4');
        assert.equal(calls, 3);
      });

      it('carries kinds and data as data: __proto__ and friends are plain strings', async () => {
        const b = await node(namespace());
        const seen: string[] = [];
        for (const kind of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
          b.inbox.handle(kind, async (data) => `${kind}|${data}`);
        }
        b.inbox.on('__proto__', (data) => seen.push(data));
        const data = '{"__proto__":{"polluted":true},"a":"\u0000\n:}{"}';
        for (const kind of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
          assert.equal(await b.inbox.request(b.nodeId, kind, data, 5000), `${kind}|${data}`);
        }
        assert.equal(await b.inbox.request(b.nodeId, 'valueOf', data, 60_000), null);
        await b.inbox.send(b.nodeId, '__proto__', data);
        await b.inbox.request(b.nodeId, 'toString', '', 5000); // a round trip after the send
        assert.deepEqual(seen, [data]);
        assert.equal(({} as { polluted?: boolean }).polluted, undefined);
      });

      it('resolves pending requests null on close and refuses new ones', async () => {
        const ns = namespace();
        const b = driver.create(ns);
        b.on('error', () => {});
        await b.start();
        b.inbox.handle('never', () => new Promise<string>(() => {}));
        const pending = b.inbox.request(b.nodeId, 'never', '', 60_000);
        await new Promise((r) => setTimeout(r, 20)); // the request reached the handler
        await b.close();
        assert.equal(await pending, null);
        await assert.rejects(b.inbox.request(b.nodeId, 'never', '', 1000), inboxError('not_running'));
        await assert.rejects(b.inbox.send(b.nodeId, 'never', ''), inboxError('not_running'));
      });
    });

    const cluster = driver.cluster;
    describe('several nodes', { skip: cluster ? false : `${driver.name} is a single-process broker` }, () => {
      it('delivers across nodes exactly once, in each publisher\'s order', async () => {
        const ns = namespace();
        const [a, b] = await Promise.all([node(ns), node(ns)]);
        const [ga, gb] = [messages(a), messages(b)];
        await Promise.all([a.subscribe(['room:x']), b.subscribe(['room:x'])]);
        await Promise.all(
          [a, b].flatMap((n) => Array.from({ length: 50 }, (_, i) => n.publish({ topic: 'room:x', event: 'n', payload: { i } }))),
        );
        for (const g of [ga, gb]) {
          await g.waitFor((m) => m.length >= 100, '100 messages');
          await new Promise((r) => setTimeout(r, 50)); // room for a duplicate to show up
          assert.equal(g.items.length, 100);
          for (const origin of [a.nodeId, b.nodeId]) {
            const seq = g.items.filter((m) => m.origin === origin).map((m) => (m.payload as JsonObject).i);
            assert.deepEqual(seq, Array.from({ length: 50 }, (_, i) => i));
          }
        }
      });

      it('hands out history offsets that every node sees in order under concurrent publishers', async () => {
        const ns = namespace();
        const [a, b, c] = await Promise.all([node(ns), node(ns), node(ns)]);
        const seen = [a, b, c].map(messages);
        await Promise.all([a, b, c].map((n) => n.subscribe(['hist:c'])));
        await Promise.all(
          [a, b].flatMap((n) => Array.from({ length: 100 }, () => n.publish({ topic: 'hist:c', event: 'e', payload: {} }, { maxMessages: 1000 }))),
        );
        for (const g of seen) {
          await g.waitFor((m) => m.length === 200, '200 messages');
          assert.deepEqual(g.items.map((m) => m.position!.offset), Array.from({ length: 200 }, (_, i) => i + 1));
        }
      });

      it('teaches a starting node the presence already in the cluster, and replicates later changes', async () => {
        const ns = namespace();
        const a = await node(ns);
        await a.subscribe(['room:p']);
        await a.publishPresence({ topic: 'room:p', key: 'alice', kind: 'join', meta: { phx_ref: 'ra' } });
        const b = driver.create(ns);
        b.on('error', () => {});
        const gb = presences(b);
        await b.start();
        started.push(b);
        await b.subscribe(['room:p']);
        assert.deepEqual(gb.items, [{ topic: 'room:p', key: 'alice', node: a.nodeId, kind: 'join', meta: { phx_ref: 'ra' } }]);
        await a.publishPresence({ topic: 'room:p', key: 'alice', kind: 'leave', meta: { phx_ref: 'ra' } });
        await gb.waitFor((c) => c.length === 2, 'the leave');
        assert.equal(gb.items[1].kind, 'leave');
      });

      it('declares a node that stops heartbeating dead, once, on every other node', async () => {
        const ns = namespace();
        const [a, b, c] = await Promise.all([node(ns), node(ns), node(ns)]);
        const downs = [b, c].map((n) => {
          const r = recorder<string>();
          n.on('nodeDown', r.push);
          return r;
        });
        await Promise.all([a, b, c].map((n) => n.subscribe(['room:d'])));
        await a.publishPresence({ topic: 'room:d', key: 'alice', kind: 'join', meta: { phx_ref: 'rd' } });
        const crashedAt = Date.now();
        cluster!.crash(a);
        for (const d of downs) await d.waitFor((n) => n.length > 0, `nodeDown(${a.nodeId})`, cluster!.deathWithinMs + 2000);
        const tookMs = Date.now() - crashedAt;
        assert.ok(tookMs <= cluster!.deathWithinMs, `declared dead after ${tookMs} ms, bound ${cluster!.deathWithinMs}`);
        await new Promise((r) => setTimeout(r, cluster!.deathWithinMs / 2));
        for (const d of downs) assert.deepEqual(d.items, [a.nodeId]);
        // Its presences are gone from the cluster's state: a node starting now does not see them.
        const late = driver.create(ns);
        const gl = presences(late);
        await late.start();
        started.push(late);
        await late.subscribe(['room:d']);
        assert.deepEqual(gl.items, []);
      });

      it('nodes held back together (the liveness store unreachable) do not declare each other dead when they come back apart', async () => {
        const ns = namespace();
        const [a, b] = await Promise.all([node(ns), node(ns)]);
        const downs = recorder<string>();
        a.on('nodeDown', downs.push);
        b.on('nodeDown', downs.push);
        await new Promise((r) => setTimeout(r, cluster!.deathWithinMs / 2)); // a few heartbeats: each knows the other
        cluster!.crash(a);
        cluster!.crash(b);
        await new Promise((r) => setTimeout(r, cluster!.deathWithinMs + 200));
        // a gets through first; b only a few heartbeats later, still well within the timeout.
        cluster!.revive(a);
        await new Promise((r) => setTimeout(r, cluster!.deathWithinMs / 4));
        cluster!.revive(b);
        await new Promise((r) => setTimeout(r, cluster!.deathWithinMs * 2));
        assert.deepEqual(downs.items, [], 'no node declared dead');
      });

      it('a node declared dead while it was only paused announces its presences again when it wakes', async () => {
        const ns = namespace();
        const [a, b] = await Promise.all([node(ns), node(ns)]);
        const pb = presences(b);
        const downs = recorder<string>();
        b.on('nodeDown', downs.push);
        await Promise.all([a.subscribe(['room:z']), b.subscribe(['room:z'])]);
        await a.publishPresence({ topic: 'room:z', key: 'alice', kind: 'join', meta: { phx_ref: 'rz' } });
        await pb.waitFor((c) => c.length === 1, "alice's join");
        cluster!.crash(a);
        await downs.waitFor((d) => d.length === 1, 'nodeDown', cluster!.deathWithinMs + 2000);
        cluster!.revive(a);
        await pb.waitFor((c) => c.length === 2, "alice's join announced again");
        assert.deepEqual(pb.items[1], pb.items[0]);
        const late = driver.create(ns);
        const pl = presences(late);
        await late.start();
        started.push(late);
        await late.subscribe(['room:z']);
        assert.deepEqual(pl.items.map((c) => c.key), ['alice']);
      });

      it('inbox: two nodes exchange requests both ways, each answer to its own request', async () => {
        const ns = namespace();
        const [a, b] = await Promise.all([node(ns), node(ns)]);
        for (const n of [a, b]) n.inbox.handle('who', async (data, { from }) => JSON.stringify({ by: n.nodeId, from, data }));
        const asks = [a, b].flatMap((n, i) =>
          Array.from({ length: 50 }, (_, j) => n.inbox.request([b, a][i].nodeId, 'who', `${n.nodeId}#${j}`, 5000)),
        );
        const answers = (await Promise.all(asks)).map((x) => JSON.parse(x!) as { by: string; from: string; data: string });
        answers.forEach((answer, k) => {
          const [asker, asked] = k < 50 ? [a, b] : [b, a];
          assert.deepEqual(answer, { by: asked.nodeId, from: asker.nodeId, data: `${asker.nodeId}#${k % 50}` });
        });
        const notes = recorder<string>();
        b.inbox.on('note', (data, from) => notes.push(`${from}:${data}`));
        assert.equal(await a.inbox.send(b.nodeId, 'note', 'hi'), true);
        await notes.waitFor((n) => n.length === 1, 'the note');
        assert.deepEqual(notes.items, [`${a.nodeId}:hi`]);
      });

      it('inbox: a closed node answers null at once; one that stops answering, null after the timeout', async () => {
        const ns = namespace();
        const [a, b, c] = await Promise.all([node(ns), node(ns), node(ns)]);
        b.inbox.handle('work', async () => 'done');
        c.inbox.handle('work', () => new Promise<string>(() => {})); // alive on pub/sub, but its handler hangs
        assert.equal(await a.inbox.request(b.nodeId, 'work', '', 5000), 'done');
        await b.close();
        assert.equal(await a.inbox.request(b.nodeId, 'work', '', 60_000), null);
        assert.equal(await a.inbox.request(c.nodeId, 'work', '', 200), null);
      });

      it('inbox: the answering node refuses requests over its own inboxMaxPendingRequests with busy', async () => {
        const ns = namespace();
        const [a, b] = await Promise.all([node(ns), node(ns, { inboxMaxPendingRequests: 2 })]);
        const release = gate();
        const arrived = recorder<string>();
        b.inbox.handle('slow', async (data) => {
          arrived.push(data);
          await release.promise;
          return data;
        });
        const held = [a.inbox.request(b.nodeId, 'slow', '1', 5000), a.inbox.request(b.nodeId, 'slow', '2', 5000)];
        await arrived.waitFor((x) => x.length === 2, 'both requests at the handler');
        await assert.rejects(a.inbox.request(b.nodeId, 'slow', '3', 5000), inboxError('busy'));
        release.open();
        assert.deepEqual(await Promise.all(held), ['1', '2']);
      });

      it('inbox: a node whose pub/sub connection dropped gets requests again after ready', async () => {
        const ns = namespace();
        const [a, b] = await Promise.all([node(ns), node(ns)]);
        b.inbox.handle('echo', async (data) => data);
        const readies = recorder<true>();
        b.on('ready', () => readies.push(true));
        await cluster!.dropConnection(b);
        await readies.waitFor((r) => r.length === 1, 'ready');
        assert.equal(await a.inbox.request(b.nodeId, 'echo', 'back', 5000), 'back');
        assert.equal(await b.inbox.request(a.nodeId, 'none', '', 60_000), null); // b's own answers reach it too
      });

      it('after the pub/sub connection drops: re-subscribes, reports the gap, catches up on presence', async () => {
        const ns = namespace();
        const [a, b] = await Promise.all([node(ns), node(ns)]);
        const topics = ['room:r1', 'room:r2', 'room:r3'];
        const ga = messages(a);
        const pa = presences(a);
        await Promise.all([a.subscribe(topics), b.subscribe(topics)]);
        await b.publishPresence({ topic: 'room:r1', key: 'bob', kind: 'join', meta: { phx_ref: 'rb' } });
        await pa.waitFor((c) => c.length === 1, "bob's join");
        const gaps = recorder<string[]>();
        const readies = recorder<true>();
        a.on('gap', gaps.push);
        a.on('ready', () => readies.push(true));
        await cluster!.dropConnection(a);
        // Changes a misses while it is cut off.
        await b.publishPresence({ topic: 'room:r1', key: 'bob', kind: 'leave', meta: { phx_ref: 'rb' } });
        await b.publishPresence({ topic: 'room:r1', key: 'carol', kind: 'join', meta: { phx_ref: 'rc' } });
        // One gap per pub/sub connection that dropped (one Redis: one; a cluster: one per shard holding a topic).
        await gaps.waitFor((g) => g.flat().length >= topics.length, 'gap events naming every topic');
        assert.deepEqual(gaps.items.flat().sort(), topics);
        await readies.waitFor((r) => r.length === 1, 'ready');
        assert.ok(a.isReady());
        await pa.waitFor((c) => c.length === 3, 'the missed leave and join');
        assert.deepEqual(
          pa.items.slice(1).map((c) => `${c.kind}:${c.key}`).sort(),
          ['join:carol', 'leave:bob'],
        );
        await b.publish({ topic: 'room:r2', event: 'live', payload: {} });
        await ga.waitFor((m) => m.some((x) => x.event === 'live'), 'a live message after the gap');
      });
    });
  });
}
