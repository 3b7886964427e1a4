/**
 * Effectively-once across nodes: two servers share one Redis. A push with an outbox id is answered by node A;
 * the same client resends it to node B (as after a reconnect through a load balancer). B answers with A's
 * reply, marked {dup:true}, and the handler ran once in total.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createClient } from 'redis';
import { RedisBroker } from '../../src/broker/redis.ts';
import type { JsonObject } from '../../src/protocol/index.ts';
import { ok, type ChannelDefinition } from '../../src/server/index.ts';
import { join, RawClient, startServer } from '../helpers/server-fixtures.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? `TETHER_SKIP_REDIS=1: Redis at ${url} not used, cross-node de-duplication skipped` : undefined;

describe('de-duplication across two servers on one Redis', { skip }, () => {
  const prefix = `tether-test:${randomUUID().slice(0, 8)}:`;
  const brokers: RedisBroker[] = [];
  after(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    const admin = createClient({ url });
    await admin.connect();
    for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await admin.del(keys);
    await admin.close();
  });

  test('a resend to another node gets the first reply with {dup:true}; the handler ran once', async () => {
    let runs = 0;
    const orders: ChannelDefinition = {
      join: () => ok(),
      handleIn: async (event, payload) => {
        runs++;
        await new Promise((r) => setTimeout(r, 20));
        return ok({ event, payload: payload as JsonObject, run: runs });
      },
    };
    const node = async () => {
      const broker = new RedisBroker({ url, keyPrefix: prefix });
      brokers.push(broker);
      return startServer({ channels: { 'orders:*': orders }, broker });
    };
    const [a, b] = await Promise.all([node(), node()]);
    const params = { tether: '1', tether_cid: 'device-1' };
    const push = ['1', '2', 'orders:1', 'place', { sku: 'x' }, { id: 'msg-1' }];

    const onA = await RawClient.connect(a.endpoint(params));
    await join(onA, 'orders:1', '1');
    onA.send(push);
    const first = (await onA.json()) as unknown[];
    assert.deepEqual(first.slice(0, 5), ['1', '2', 'orders:1', 'phx_reply', { response: { event: 'place', payload: { sku: 'x' }, run: 1 }, status: 'ok' }]);
    onA.close();

    const onB = await RawClient.connect(b.endpoint(params));
    await join(onB, 'orders:1', '1');
    onB.send(push);
    const again = (await onB.json()) as unknown[];
    assert.deepEqual(again.slice(0, 5), first.slice(0, 5), 'the original reply, not a second run');
    assert.deepEqual(again[5], { dup: true });
    assert.equal(runs, 1);

    onB.send(['1', '3', 'orders:1', 'place', { sku: 'y' }, { id: 'msg-2' }]);
    const fresh = (await onB.json()) as [unknown, unknown, unknown, unknown, { response: { run: number } }];
    assert.equal(fresh[4].response.run, 2, 'a new id runs the handler');
    onB.close();
  });
});
