/** `tether bench` against a real server on loopback, briefly. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { formatResult, runBench, type BenchOptions } from '../../src/cli/bench.ts';
import { ProgressLine } from '../../src/cli/ui/progress.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { createServer } from '../../src/server/server.ts';

const quiet = new ProgressLine(new PassThrough());

function options(overrides: Partial<BenchOptions>): BenchOptions {
  return {
    connections: 20, subscribers: 10, rate: 100, duration: 1, payload: 64, topicPrefix: 'room:bench', param: [],
    concurrency: 10, drain: 2000, json: false, ...overrides,
  };
}

test('every broadcast reaches every subscriber of its topic, with latency percentiles', async () => {
  let connects = 0;
  const server = createServer({ port: 0, channels: { 'room:*': roomChannel }, connect: ({ params }) => (connects++, params.key === 'k') });
  const { url } = await server.listen();
  try {
    const opts = options({ connections: 25, param: ['key=k'] });
    const result = await runBench(url, opts, quiet);
    assert.equal(result.topics, 3);
    assert.equal(result.connections.connected, 25);
    assert.equal(result.published, 100);
    // Topics 0 and 1 have 10 subscribers, topic 2 has 5; publishes go round robin (34, 33, 33).
    assert.equal(result.expected, 34 * 10 + 33 * 10 + 33 * 5);
    assert.equal(result.delivered, result.expected);
    assert.equal(result.lost, 0);
    assert.equal(result.latencyMs.count, result.delivered);
    assert.ok(result.latencyMs.p50 !== null && result.latencyMs.p99 !== null && result.latencyMs.p50 <= result.latencyMs.p99);
    assert.deepEqual(result.errors, { connect: 0, join: 0, publish: 0, disconnects: 0 });
    assert.equal(connects, 25 + 3, 'subscribers plus one publisher per topic');
    assert.match(formatResult(result, opts), /delivered +835 of 835 expected, .* lost 0/);
    assert.deepEqual(result.closes, {});
    const dropped = { ...result, errors: { ...result.errors, disconnects: 3 }, closes: { '4001': 2, heartbeat_timeout: 1 } };
    assert.match(formatResult(dropped, opts), /\n  closed +2 × 4001 \(you read too slowly: [^\n]+\n  closed +1 × heartbeat_timeout$/);
  } finally {
    await server.close();
  }
});

test('a refused connection is reported, not hidden', async () => {
  const server = createServer({ port: 0, channels: { 'room:*': roomChannel }, connect: () => false });
  const { url } = await server.listen();
  try {
    const result = await runBench(url, options({ connections: 2, subscribers: 2, duration: 0.2 }), quiet);
    assert.equal(result.connections.connected, 0);
    assert.equal(result.errors.connect, 2);
    assert.equal(result.published, 0);
  } finally {
    await server.close();
  }
});
