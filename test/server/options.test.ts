import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, ServerOptionsError } from '../../src/server/index.ts';
import { resolveOptions } from '../../src/server/options.ts';

test('defaults are the documented ones', () => {
  const o = resolveOptions({ channels: {} });
  assert.deepEqual(
    {
      port: o.port, host: o.host, mount: o.mount, maxFrameBytes: o.maxFrameBytes, maxConnections: o.maxConnections, backlog: o.backlog,
      maxChannelsPerConnection: o.maxChannelsPerConnection, idleTimeoutMs: o.idleTimeoutMs, outboundBudgetBytes: o.outboundBudgetBytes,
      slowConsumerGraceMs: o.slowConsumerGraceMs, closeGraceMs: o.closeGraceMs, messagesPerSecond: o.messagesPerSecond, messageBurst: o.messageBurst,
      joinsPerSecond: o.joinsPerSecond, joinBurst: o.joinBurst, connectTimeoutMs: o.connectTimeoutMs, sweepIntervalMs: o.sweepIntervalMs, presenceBatchMs: o.presenceBatchMs,
      drainBatchSize: o.drainBatchSize, drainIntervalMs: o.drainIntervalMs, drainTimeoutMs: o.drainTimeoutMs, drainReconnectWindowMs: o.drainReconnectWindowMs,
    },
    {
      port: 4000, host: '127.0.0.1', mount: '/socket', maxFrameBytes: 1048576, maxConnections: 100000, backlog: 4096, maxChannelsPerConnection: 100,
      idleTimeoutMs: 60000, outboundBudgetBytes: 4194304, slowConsumerGraceMs: 5000, closeGraceMs: 10000, messagesPerSecond: 10000, messageBurst: 20000,
      joinsPerSecond: 20, joinBurst: 200, connectTimeoutMs: 10000, sweepIntervalMs: 1000, presenceBatchMs: 0,
      drainBatchSize: 500, drainIntervalMs: 50, drainTimeoutMs: 5000, drainReconnectWindowMs: 1000,
    },
  );
});

test('bad options fail with a ServerOptionsError naming each problem', () => {
  assert.throws(
    () => createServer({ channels: {}, maxConection: 5, idleTimeoutMs: -1 } as never),
    (err: unknown) => err instanceof ServerOptionsError && /maxConection/.test(err.message) && /idleTimeoutMs/.test(err.message),
  );
  assert.throws(() => createServer({ channels: { 'room:*': {} } } as never), /a channel definition needs a join function/);
  assert.throws(() => createServer({ channels: {}, mount: 'socket/' }), /mount must look like/);
});
