/**
 * Channel scenarios through a real server, run once per broker driver: what a client sees on the wire must
 * not depend on whether fan-out, presence and history go through memory or through Redis. Raw WebSocket
 * frames, so every shape is checked exactly.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { roomChannel } from '../../src/demo/room-channel.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
import type { Broker } from '../../src/broker/types.ts';
import { ok, type ChannelDefinition } from '../../src/server/index.ts';
import { RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

type Wire = [string | null, string | null, string, string, JsonObject, JsonObject?];

export interface ChannelDriver {
  name: string;
  skip?: string;
  /** A broker for one server; brokers of one namespace are one cluster. Closed by the caller. */
  broker(namespace: string): Broker;
  cleanup(namespace: string): Promise<void>;
  /** Whether several servers can share a namespace (a real cluster). */
  multiNode: boolean;
}

let seq = 0;
const channels: Record<string, ChannelDefinition> = {
  'room:*': roomChannel,
  'plain:*': { join: () => ok() },
  'feed:*': { history: { maxMessages: 50 }, join: () => ok() },
};

export function runChannelScenarios(driver: ChannelDriver): void {
  describe(`channel scenarios over the ${driver.name} broker`, { skip: driver.skip, timeout: 30_000 }, () => {
    function namespace(t: TestContext): string {
      const ns = `c${process.pid}x${Date.now().toString(36)}x${++seq}`;
      t.after(() => driver.cleanup(ns));
      return ns;
    }
    async function server(t: TestContext, ns: string): Promise<Started> {
      const broker = driver.broker(ns);
      broker.on('error', () => {});
      const s = await startServer({ channels, broker });
      t.after(async () => {
        await s.server.close();
        await broker.close();
      });
      return s;
    }
    async function client(t: TestContext, s: Started, params: Record<string, string> = {}): Promise<RawClient> {
      const c = await RawClient.connect(s.endpoint(params));
      t.after(() => c.close());
      return c;
    }
    const next = async (c: RawClient) => (await c.json()) as Wire;
    async function joined(c: RawClient, topic: string, ref: string, meta?: JsonObject): Promise<Wire> {
      c.send(meta ? [ref, ref, topic, 'phx_join', {}, meta] : [ref, ref, topic, 'phx_join', {}]);
      let reply = await next(c);
      while (reply[3] !== 'phx_reply' || reply[1] !== ref) reply = await next(c);
      assert.equal(reply[4].status, 'ok');
      return reply;
    }

    it('a broadcast reaches every subscriber once, in order, and a shout reaches its sender too', async (t) => {
      const s = await server(t, namespace(t));
      const [a, b] = [await client(t, s), await client(t, s)];
      for (const c of [a, b]) {
        await joined(c, 'plain:1', '1');
        await joined(c, 'room:1', '2');
        assert.equal((await next(c))[3], 'presence_state');
      }
      for (let n = 1; n <= 20; n++) s.server.broadcast('plain:1', 'tick', { n });
      a.send(['2', '3', 'room:1', 'shout', { from: 'a' }]);
      // Order holds per topic. Across topics it need not: on a Redis Cluster `plain:1` and `room:1` may live on
      // different shards, so the shout can overtake the ticks.
      for (const c of [a, b]) {
        const got: Wire[] = [];
        for (let i = 0; i < 21; i++) got.push(await next(c));
        const ticks = got.filter((w) => w[2] === 'plain:1');
        assert.deepEqual(ticks, Array.from({ length: 20 }, (_, i) => [null, null, 'plain:1', 'tick', { n: i + 1 }]));
        assert.deepEqual(got.filter((w) => w[2] !== 'plain:1'), [[null, null, 'room:1', 'shout', { from: 'a' }]]);
        assert.equal(await c.silentFor(100), true, 'nothing more: no duplicates');
      }
    });

    it('a binary broadcast arrives as a V2 binary frame with the exact bytes', async (t) => {
      const s = await server(t, namespace(t));
      const c = await client(t, s);
      await joined(c, 'plain:bin', '1');
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      s.server.broadcast('plain:bin', 'raw', bytes);
      const frame = await c.next();
      assert.ok(Buffer.isBuffer(frame));
      const topic = Buffer.from('plain:bin');
      assert.deepEqual(frame, Buffer.concat([Buffer.from([2, topic.length, 3]), topic, Buffer.from('raw'), bytes]));
    });

    it('presence_state and presence_diff in Phoenix shapes, joins and leaves', async (t) => {
      const s = await server(t, namespace(t));
      const ann = await client(t, s, { user: 'ann' });
      await joined(ann, 'room:p', '1');
      const state = await next(ann);
      assert.deepEqual(state.slice(0, 4), ['1', null, 'room:p', 'presence_state']);
      assert.deepEqual(Object.keys(state[4]), ['ann']);
      let diff = await next(ann); // her own join as a diff
      assert.deepEqual(Object.keys(diff[4].joins as JsonObject), ['ann']);
      const bob = await client(t, s, { user: 'bob' });
      await joined(bob, 'room:p', '1');
      diff = await next(ann);
      assert.deepEqual(diff.slice(0, 4), [null, null, 'room:p', 'presence_diff']);
      const bobMeta = ((diff[4].joins as JsonObject).bob as { metas: JsonObject[] }).metas[0];
      assert.equal(typeof bobMeta.phx_ref, 'string');
      assert.deepEqual(diff[4].leaves, {});
      bob.close();
      diff = await next(ann);
      assert.deepEqual(diff[4], { joins: {}, leaves: { bob: { metas: [bobMeta] } } });
    });

    it('history: positions on broadcasts, the gap replayed on rejoin, recovered:false when it cannot be', async (t) => {
      const s = await server(t, namespace(t));
      const c = await client(t, s, { tether: '1' });
      const first = await joined(c, 'feed:a', '1');
      const epoch = first[5]!.e as string;
      assert.equal(first[5]!.o, 0);
      for (let n = 1; n <= 3; n++) s.server.broadcast('feed:a', 'msg', { n });
      for (let n = 1; n <= 3; n++) assert.deepEqual(await next(c), [null, null, 'feed:a', 'msg', { n }, { o: n, e: epoch }]);
      c.send(['1', '2', 'feed:a', 'phx_leave', {}]);
      while ((await next(c))[1] !== '2');
      for (let n = 4; n <= 6; n++) s.server.broadcast('feed:a', 'msg', { n });
      const rejoin = await joined(c, 'feed:a', '3', { since: { o: 3, e: epoch } });
      assert.deepEqual(rejoin[5], { recovered: true, o: 6, e: epoch });
      for (let n = 4; n <= 6; n++) assert.deepEqual(await next(c), ['3', null, 'feed:a', 'msg', { n }, { o: n, e: epoch }]);
      const foreign = await joined(c, 'feed:b', '4', { since: { o: 2, e: 'not-this-one' } });
      assert.deepEqual([foreign[5]!.recovered, foreign[5]!.reason], [false, 'epoch_changed']);
    });

    describe('two servers on one namespace', { skip: driver.multiNode ? false : `${driver.name} is single-process` }, () => {
      it('broadcasts and presence cross servers, and a client recovers on the other server', async (t) => {
        const ns = namespace(t);
        const [sa, sb] = [await server(t, ns), await server(t, ns)];
        const ann = await client(t, sa, { user: 'ann', tether: '1' });
        const bob = await client(t, sb, { user: 'bob' });
        await joined(ann, 'room:x', '1');
        await next(ann); // presence_state
        await next(ann); // her own join
        await joined(bob, 'room:x', '1');
        const state = await next(bob);
        assert.deepEqual(Object.keys(state[4]).sort(), ['ann', 'bob'], 'bob learns of ann, tracked on the other server');
        const diff = await next(ann);
        assert.deepEqual(Object.keys(diff[4].joins as JsonObject), ['bob']);
        bob.send(['1', '2', 'room:x', 'shout', { hi: 'from b' }]);
        let frame = await next(ann);
        assert.deepEqual(frame, [null, null, 'room:x', 'shout', { hi: 'from b' }]);

        const first = await joined(ann, 'feed:x', '3');
        const epoch = first[5]!.e as string;
        sb.server.broadcast('feed:x', 'msg', { n: 1 });
        frame = await next(ann);
        assert.deepEqual(frame, [null, null, 'feed:x', 'msg', { n: 1 }, { o: 1, e: epoch }]);
        ann.close();
        for (let n = 2; n <= 4; n++) sa.server.broadcast('feed:x', 'msg', { n });
        const again = await client(t, sb, { tether: '1' });
        const rejoin = await joined(again, 'feed:x', '1', { since: { o: 1, e: epoch } });
        assert.deepEqual(rejoin[5], { recovered: true, o: 4, e: epoch });
        for (let n = 2; n <= 4; n++) assert.deepEqual(await next(again), ['1', null, 'feed:x', 'msg', { n }, { o: n, e: epoch }]);
      });
    });
  });
}
