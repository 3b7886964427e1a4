/**
 * The long-poll relay over the broker inbox: two RedisBrokers in one process stand for two nodes; a request
 * forwarded from one reaches the other's handler and its answer comes back, and every way of not answering
 * ends in null (which the endpoint turns into 410).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createClient } from 'redis';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { RedisBroker } from '../../src/broker/redis.ts';
import type { Broker } from '../../src/broker/types.ts';
import { createLongPollRelay, LONGPOLL_INBOX_KIND } from '../../src/server/longpoll/relay.ts';
import type { LongPollRelay, LongPollRequest } from '../../src/server/longpoll/types.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1' : undefined;
const prefix = `t${process.pid}lprelay:`;

describe('long-poll relay over two Redis brokers', { skip, timeout: 30_000 }, () => {
  const brokers: Broker[] = [];
  const relays: LongPollRelay[] = [];

  async function nodePair(): Promise<[RedisBroker, RedisBroker]> {
    const pair = [0, 1].map(() => new RedisBroker({ url, keyPrefix: prefix })) as [RedisBroker, RedisBroker];
    for (const b of pair) b.on('error', () => {});
    await Promise.all(pair.map((b) => b.start()));
    brokers.push(...pair);
    return pair;
  }
  function relay(broker: Broker): LongPollRelay {
    const r = createLongPollRelay(broker);
    relays.push(r);
    return r;
  }

  after(async () => {
    for (const r of relays) r.close();
    await Promise.all(brokers.map((b) => b.close()));
    const admin = createClient({ url });
    await admin.connect();
    for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await admin.del(keys);
    await admin.close();
  });

  it('carries a request to the owner and its answer back, byte for byte', async () => {
    const [a, b] = await nodePair();
    const seen: LongPollRequest[] = [];
    relay(b).serve(async (request) => {
      seen.push(request);
      return { body: JSON.stringify({ status: 200, token: `${request.sessionToken}!`, messages: [] }) };
    });
    const ra = relay(a);
    const post: LongPollRequest = {
      method: 'POST',
      sessionToken: 'tok.en/+=',
      body: '[null,"1","room:é","new_msg",{"t":"a\\nb \\u0000 ✓ 😀"}]\n["1","2","room:é","phx_leave",{}]',
    };
    const get: LongPollRequest = { method: 'GET', sessionToken: 'tok' };
    assert.deepEqual(await ra.forward(b.nodeId, post, 5000), { body: '{"status":200,"token":"tok.en/+=!","messages":[]}' });
    assert.deepEqual(await ra.forward(b.nodeId, get, 5000), { body: '{"status":200,"token":"tok!","messages":[]}' });
    const empty: LongPollRequest = { method: 'POST', sessionToken: 'tok', body: '' };
    assert.deepEqual(await ra.forward(b.nodeId, empty, 5000), { body: '{"status":200,"token":"tok!","messages":[]}' });
    assert.deepEqual(seen, [post, get, empty]);
    assert.equal('body' in seen[1], false, 'a GET arrives without a body field');
  });

  it('answers null at once for a node that is gone, and after the timeout for one that does not answer', async () => {
    const [a, b] = await nodePair();
    relay(b).serve(() => new Promise(() => {}));
    const ra = relay(a);
    const gone = await ra.forward('node-gone', { method: 'GET', sessionToken: 't' }, 60_000);
    assert.equal(gone, null);
    const started = Date.now();
    assert.equal(await ra.forward(b.nodeId, { method: 'GET', sessionToken: 't' }, 150), null);
    assert.ok(Date.now() - started >= 140, 'waited for the timeout');
  });

  it('answers null when the owner does not serve long-poll, or its handler throws', async () => {
    const [a, b] = await nodePair();
    const ra = relay(a);
    assert.equal(await ra.forward(b.nodeId, { method: 'GET', sessionToken: 't' }, 60_000), null);
    relay(b).serve(async () => {
      throw new Error('session handler broke');
    });
    assert.equal(await ra.forward(b.nodeId, { method: 'GET', sessionToken: 't' }, 5000), null);
  });

  it('refuses malformed requests from the inbox without calling the handler', async () => {
    const [a, b] = await nodePair();
    let calls = 0;
    relay(b).serve(async () => {
      calls++;
      return { body: '{}' };
    });
    for (const data of ['not json', 'null', '{"method":"PUT","sessionToken":"t"}', '{"method":"GET"}', '{"method":"POST","sessionToken":7}\nbody', '{"__proto__":{"method":"GET"},"sessionToken":"t"}', '\n{"method":"GET","sessionToken":"t"}']) {
      await assert.rejects(a.inbox.request(b.nodeId, LONGPOLL_INBOX_KIND, data, 5000), { name: 'InboxError', code: 'failed' }, data);
    }
    assert.equal(calls, 0);
  });

  it('close() settles pending forwards with null and stops serving', async () => {
    const [a, b] = await nodePair();
    const rb = relay(b);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    rb.serve(async () => {
      calls++;
      await held;
      return { body: 'late' };
    });
    const ra = relay(a);
    const pending = ra.forward(b.nodeId, { method: 'GET', sessionToken: 't' }, 60_000);
    while (calls === 0) await new Promise((r) => setTimeout(r, 5));
    ra.close();
    assert.equal(await pending, null);
    assert.equal(await ra.forward(b.nodeId, { method: 'GET', sessionToken: 't' }, 60_000), null, 'a closed relay forwards nothing');
    release();
    rb.close();
    const again = relay(a);
    assert.equal(await again.forward(b.nodeId, { method: 'GET', sessionToken: 't' }, 60_000), null, 'b stopped serving: null at once');
    assert.equal(calls, 1);
  });
});

describe('long-poll relay over the memory broker', () => {
  it('reaches its own node only', async () => {
    const broker = new MemoryBroker();
    await broker.start();
    const r = createLongPollRelay(broker);
    r.serve(async (request) => ({ body: `{"status":200,"token":"${request.sessionToken}"}` }));
    assert.deepEqual(await r.forward(broker.nodeId, { method: 'GET', sessionToken: 'x' }, 1000), { body: '{"status":200,"token":"x"}' });
    assert.equal(await r.forward('another-node', { method: 'GET', sessionToken: 'x' }, 60_000), null);
    r.close();
    await broker.close();
  });
});
