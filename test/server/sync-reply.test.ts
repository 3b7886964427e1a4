/**
 * The request/reply hot path: a handler that answers synchronously is answered before `receive` returns,
 * with no promise or microtask in between; only a handler that returns a thenable is awaited.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { ServerCore } from '../../src/server/core.ts';
import { resolveOptions } from '../../src/server/options.ts';
import type { SharedFrame, TransportSocket } from '../../src/server/transport.ts';
import { VirtualClock } from '../helpers/clock.ts';

class RecordingTransport implements TransportSocket {
  readonly sent: string[] = [];
  readonly bufferedAmount = 0;
  send(data: string | Uint8Array): void {
    this.sent.push(String(data));
  }
  sendShared(frame: SharedFrame): void {
    this.sent.push(String(frame.data));
  }
  close(): void {}
  terminate(): void {}
}

test('a synchronous handleIn reply is written within receive(); an async one after its promise settles', async () => {
  const room: ChannelDefinition = {
    join: () => ok(),
    handleIn: (event, payload) => (event === 'later' ? Promise.resolve(ok(payload)) : ok(payload)),
  };
  const clock = new VirtualClock();
  const core = new ServerCore(resolveOptions({ channels: { 'room:*': room } }), new MemoryBroker(), clock);
  const transport = new RecordingTransport();
  const conn = core.open(transport, { ok: true, vsn: 2, params: {}, assigns: {}, socketId: null, protocol: null, remoteAddress: '', origin: null, sameOrigin: false });
  conn.receive('["1","1","room:a","phx_join",{}]');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(transport.sent, ['["1","1","room:a","phx_reply",{"response":{},"status":"ok"}]']);

  conn.receive('["1","2","room:a","now",{"n":2}]');
  assert.equal(transport.sent.at(-1), '["1","2","room:a","phx_reply",{"response":{"n":2},"status":"ok"}]', 'answered before receive returned');
  conn.receive('[null,"3","phoenix","heartbeat",{}]');
  assert.equal(transport.sent.at(-1), '[null,"3","phoenix","phx_reply",{"response":{},"status":"ok"}]');

  conn.receive('["1","4","room:a","later",{"n":4}]');
  conn.receive('["1","5","room:a","now",{"n":5}]');
  assert.equal(transport.sent.length, 3, 'the async reply, and the message queued behind it, wait');
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(transport.sent.slice(3), [
    '["1","4","room:a","phx_reply",{"response":{"n":4},"status":"ok"}]',
    '["1","5","room:a","phx_reply",{"response":{"n":5},"status":"ok"}]',
  ]);
  conn.closed(1000, '');
});
