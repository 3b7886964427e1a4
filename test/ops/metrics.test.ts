import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { ServerMetrics } from '../../src/ops/metrics.ts';
import { sample } from './prom-text.ts';

test('observer hooks land in the exposition, totals are copied at scrape time without double counting', async () => {
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const o = metrics.observer;
  o.connectionOpened?.({ id: 'a', vsn: 2, remoteAddress: '127.0.0.1', transport: 'websocket' });
  o.connectionOpened?.({ id: 'b', vsn: 1, remoteAddress: '127.0.0.1', transport: 'websocket' });
  o.connectionClosed?.({ id: 'b', code: 4001, reason: 'slow', durationMs: 5, transport: 'websocket' });
  o.connectionOpened?.({ id: 'c', vsn: 2, remoteAddress: '127.0.0.1', transport: 'longpoll' });
  o.connectionOpened?.({ id: 'd', vsn: 2, remoteAddress: '127.0.0.1', transport: 'longpoll' });
  o.connectionClosed?.({ id: 'd', code: 1006, reason: 'long-poll session expired', durationMs: 5, transport: 'longpoll' });
  o.connectionClosed?.({ id: 'c', code: 4321, reason: 'a code the client made up', durationMs: 5, transport: 'longpoll' });
  o.connectionRejected?.({ status: 403, reason: 'origin https://evil.example is not allowed' });
  o.connectionRejected?.({ status: 403, reason: 'unsupported vsn "9.9.9" (use 1.0.0 or 2.0.0)' });
  o.channelJoined?.({ connectionId: 'a', topic: 'room:1', pattern: 'room:*' });
  o.joinRejected?.({ connectionId: 'a', topic: 'nope', pattern: null, reason: 'unmatched topic' });
  for (let i = 0; i < 3; i++) o.frameIn?.({ connectionId: 'a', bytes: 10 });
  o.frameOut?.(300, 3);
  o.broadcast?.({ topic: 'room:1', event: 'shout', recipients: 3 });
  o.handled?.({ pattern: 'room:*', event: 'echo', durationMs: 2, status: 'ok' });
  o.handled?.({ pattern: 'room:*', event: 'fail', durationMs: 0.2, status: 'error' });
  o.heartbeat?.({ connectionId: 'a' });
  o.idleTimeout?.({ connectionId: 'a' });
  o.slowConsumer?.({ connectionId: 'b', bufferedBytes: 2e6, cause: 'grace' });
  o.error?.(new Error('x'), 'decode c17');
  o.error?.(new Error('y'), 'decode c18');
  o.outboxPush?.({ topic: 'room:1' });
  o.dedupHit?.({ topic: 'room:1' });
  o.brokerGap?.({ topics: ['room:1', 'room:2'] });
  o.rateLimited?.({ connectionId: 'a', kind: 'message', topic: 'room:1', event: 'shout' });
  o.rateLimited?.({ connectionId: 'a', kind: 'message', topic: 'room:1', event: 'shout' });
  o.rateLimited?.({ connectionId: 'a', kind: 'join', topic: 'room:3', event: 'phx_join' });

  for (let scrape = 0; scrape < 2; scrape++) {
    const text = await metrics.exposition();
    const expect: Record<string, number> = {
      tether_connections: 1,
      'tether_connections_by_transport{transport="websocket"}': 1,
      'tether_connections_by_transport{transport="longpoll"}': 0,
      tether_connections_opened_total: 4,
      'tether_connections_closed_total{code="4001"}': 1,
      'tether_connections_closed_total{code="other"}': 1,
      'tether_connections_rejected_total{status="403",reason="origin"}': 1,
      'tether_connections_rejected_total{status="403",reason="vsn"}': 1,
      'tether_joins_total{pattern="room:*"}': 1,
      'tether_joins_rejected_total{pattern="unmatched"}': 1,
      tether_channels: 1,
      tether_messages_in_total: 3,
      tether_bytes_in_total: 30,
      tether_messages_out_total: 3,
      tether_bytes_out_total: 300,
      tether_broadcasts_total: 1,
      tether_broadcast_deliveries_total: 3,
      'tether_broadcast_fanout_bucket{le="10"}': 1,
      'tether_replies_total{status="ok"}': 1,
      'tether_replies_total{status="error"}': 1,
      'tether_handler_duration_seconds_count{pattern="room:*"}': 2,
      'tether_handler_duration_seconds_bucket{le="0.00025",pattern="room:*"}': 1,
      tether_heartbeats_total: 1,
      tether_idle_timeouts_total: 1,
      tether_slow_consumer_disconnects_total: 1,
      'tether_errors_total{context="decode"}': 2,
      tether_outbox_pushes_total: 1,
      tether_dedup_hits_total: 1,
      tether_broker_gaps_total: 1,
      tether_broker_gap_topics_total: 2,
      'tether_rate_limited_total{kind="message"}': 2,
      'tether_rate_limited_total{kind="join"}': 1,
    };
    for (const [series, value] of Object.entries(expect)) assert.equal(sample(text, series), value, series);
  }
});

test('the topics gauge reads the bound server at scrape time', async () => {
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const topics = new Map([['room:a', 2], ['room:b', 1]]);
  metrics.bindServer({ connectionCount: 0, topics: () => topics });
  assert.equal(sample(await metrics.exposition(), 'tether_topics'), 2);
  topics.delete('room:b');
  assert.equal(sample(await metrics.exposition(), 'tether_topics'), 1);
});

test('default metrics include event-loop lag', async () => {
  const metrics = new ServerMetrics();
  assert.match(await metrics.exposition(), /^nodejs_eventloop_lag_seconds \d/m);
});

test('instrumentBroker times publishes and counts failures, and can be undone', async () => {
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const broker = new MemoryBroker();
  await broker.start();
  const original = broker.publish;
  const restore = metrics.instrumentBroker(broker);
  await broker.publish({ topic: 't', event: 'e', payload: {} });
  await broker.publish({ topic: 't', event: 'e', payload: {} });
  await broker.close();
  const failing = { publish: () => Promise.reject(new Error('down')) };
  const restoreFailing = metrics.instrumentBroker(failing as never);
  await assert.rejects(failing.publish(), /down/);
  await new Promise((r) => setImmediate(r));
  const text = await metrics.exposition();
  assert.equal(sample(text, 'tether_broker_publish_duration_seconds_count'), 2);
  assert.equal(sample(text, 'tether_broker_publish_errors_total'), 1);
  restoreFailing();
  restore();
  assert.equal(broker.publish, original);
});
