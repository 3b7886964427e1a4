/**
 * Teardown paths catch: a broker that throws synchronously from `publishPresence` and `unsubscribe` (the lowest
 * seam a fault can be injected at) and a `terminate` that throws must not stop a channel from ending, nor a
 * connection from closing, nor reach the process; each throw is reported to the error hook.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import type { PresenceChange } from '../../src/broker/types.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { RawClient, startServer } from '../helpers/server-fixtures.ts';

class FailingTeardownBroker extends MemoryBroker {
  failing = false;
  override publishPresence(change: Omit<PresenceChange, 'node'>): Promise<void> {
    if (this.failing) throw new Error('publishPresence failed synchronously');
    return super.publishPresence(change);
  }
  override unsubscribe(topics: string[]): Promise<void> {
    if (this.failing) throw new Error('unsubscribe failed synchronously');
    return super.unsubscribe(topics);
  }
}

const tracked: ChannelDefinition = {
  join: () => ok(),
  afterJoin(socket) {
    socket.presence.track(socket, '__proto__', {});
    socket.presence.track(socket, 'constructor', {});
  },
  handleIn(event) {
    if (event === 'crash') throw new Error('crash requested');
    return ok();
  },
  terminate() {
    throw new Error('terminate failed');
  },
};

/** The next frame that is not presence traffic. */
async function next(c: RawClient): Promise<unknown[]> {
  for (;;) {
    const f = (await c.json()) as unknown[];
    if (f[3] !== 'presence_diff' && f[3] !== 'presence_state') return f;
  }
}

test('a channel ends and a connection closes through throwing teardown steps (crash, leave, close, drain); every throw is reported', async () => {
  const broker = new FailingTeardownBroker();
  const s = await startServer({ broker, channels: { 'room:*': tracked }, drainIntervalMs: 0, drainTimeoutMs: 500 });
  const errors: string[] = [];
  s.server.observe({ error: (_err, context) => errors.push(context) });
  const c = await RawClient.connect(s.endpoint());
  for (const [i, topic] of ['room:crash', 'room:leave', 'room:close', 'room:drain'].entries()) {
    c.send([String(i), String(i), topic, 'phx_join', {}]);
    assert.equal((await next(c))[3], 'phx_reply');
  }
  await new Promise((r) => setTimeout(r, 20));
  broker.failing = true;
  c.send(['0', 'x', 'room:crash', 'crash', {}]);
  assert.equal((await next(c))[3], 'phx_error');
  c.send(['1', 'y', 'room:leave', 'phx_leave', {}]);
  assert.deepEqual((await next(c)).slice(3), ['phx_reply', { response: {}, status: 'ok' }]);
  assert.equal((await next(c))[3], 'phx_close');
  // The two remaining channels end with the connection.
  c.close();
  await c.closed;
  for (let i = 0; i < 50 && s.server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(s.server.connectionCount, 0);
  assert.deepEqual(s.server.topics(), new Map());
  for (const topic of ['room:crash', 'room:leave', 'room:close', 'room:drain']) {
    assert.ok(errors.some((e) => e === `unsubscribe ${topic}`), `unsubscribe ${topic} reported: ${errors.join(', ')}`);
    assert.ok(errors.some((e) => e === `presence untrack ${topic}`), `presence ${topic} reported`);
  }
  assert.ok(errors.some((e) => e.startsWith('terminate room:* room:leave')));
  assert.deepEqual(s.server.presence.list('room:close'), Object.create(null));

  // Drain with a throwing teardown: close() still resolves.
  const d = await RawClient.connect(s.endpoint());
  d.send(['1', '1', 'room:drained', 'phx_join', {}]);
  await next(d);
  await s.server.close();
  assert.equal((await d.closed).code, 1012);
});

test('a handler that throws a value with no prototype (or a throwing toString) still crashes only its channel', async () => {
  const weird: ChannelDefinition = {
    join: () => ok(),
    handleIn(event) {
      if (event === 'null-proto') throw Object.create(null);
      throw { toString: () => { throw new Error('toString throws'); } };
    },
  };
  const s = await startServer({ channels: { 'weird:*': weird } });
  const errors: Error[] = [];
  s.server.observe({ error: (err) => errors.push(err) });
  const c = await RawClient.connect(s.endpoint());
  for (const [i, event] of ['null-proto', 'bad-tostring'].entries()) {
    const jr = `j${i}`;
    c.send([jr, jr, `weird:${i}`, 'phx_join', {}]);
    assert.equal((await next(c))[3], 'phx_reply');
    c.send([jr, 'p', `weird:${i}`, event, {}]);
    assert.deepEqual(await next(c), [jr, jr, `weird:${i}`, 'phx_error', { reason: 'channel_crash' }]);
  }
  assert.deepEqual(errors.map((e) => e.message), ['non-Error thrown (object)', 'non-Error thrown (object)']);
  c.send([null, 'hb', 'phoenix', 'heartbeat', {}]);
  assert.equal((await next(c))[1], 'hb');
  c.close();
});
