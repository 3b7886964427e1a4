/**
 * Prometheus metrics for a Tether server, fed by a ServerObserver. Per-message hooks only add to plain
 * numbers (no label lookup, no prom-client call); those totals are copied into their counters when the
 * registry is scraped. Labelled series keep one pre-bound child per label value.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Broker } from '../broker/types.ts';
import { closeCodeName } from '../protocol/close-codes.ts';
import type { ServerObserver } from '../server/observer.ts';

/** What a server exposes for the gauges read at scrape time. */
export interface ServerGaugeSource {
  readonly connectionCount: number;
  topics(): Map<string, number>;
}

export interface MetricsOptions {
  /** Default: a new registry. */
  registry?: Registry;
  /** Process and Node.js metrics (CPU, memory, GC, event-loop lag). Default true. */
  defaultMetrics?: boolean;
}

/** Plain running totals, readable without touching prom-client (the dashboard samples them every second). */
export interface MetricTotals {
  connectionsOpened: number;
  connectionsClosed: number;
  connectionsRejected: number;
  connections: number;
  /** Of `connections`, those on the long-poll transport. */
  longPollConnections: number;
  channels: number;
  joins: number;
  joinsRejected: number;
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
  broadcasts: number;
  deliveries: number;
  heartbeats: number;
  idleTimeouts: number;
  slowConsumers: number;
  errors: number;
  outboxPushes: number;
  dedupHits: number;
  brokerGaps: number;
  brokerGapTopics: number;
  rateLimited: number;
  broadcastFailures: number;
  inboundRefused: number;
}

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const FANOUT_BUCKETS = [0, 1, 10, 100, 1_000, 10_000, 100_000];
const REPLY_STATUSES = ['ok', 'error', 'noreply', 'crash'] as const;

export class ServerMetrics {
  readonly registry: Registry;
  readonly totals: MetricTotals = {
    connectionsOpened: 0, connectionsClosed: 0, connectionsRejected: 0, connections: 0, longPollConnections: 0, channels: 0, joins: 0,
    joinsRejected: 0, messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0, broadcasts: 0, deliveries: 0,
    heartbeats: 0, idleTimeouts: 0, slowConsumers: 0, errors: 0, outboxPushes: 0, dedupHits: 0,
    brokerGaps: 0, brokerGapTopics: 0, rateLimited: 0, broadcastFailures: 0, inboundRefused: 0,
  };
  /** The observer to pass to `server.observe()`. */
  readonly observer: ServerObserver;
  readonly handlerLatency: Histogram<'pattern'>;
  readonly brokerPublishLatency: Histogram;
  readonly #brokerPublishErrors: Counter;
  #gaugeSource: ServerGaugeSource | undefined;

  constructor(options: MetricsOptions = {}) {
    const registry = (this.registry = options.registry ?? new Registry());
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    const t = this.totals;
    const total = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });

    new Gauge({ name: 'tether_connections', help: 'Open connections (WebSocket and long-poll).', registers: [registry],
      collect() { this.set(t.connections); } });
    new Gauge({ name: 'tether_connections_by_transport', help: 'Open connections by transport (websocket, longpoll).',
      labelNames: ['transport'], registers: [registry],
      collect() {
        this.set({ transport: 'websocket' }, t.connections - t.longPollConnections);
        this.set({ transport: 'longpoll' }, t.longPollConnections);
      } });
    total('tether_connections_opened_total', 'Connections accepted.', () => t.connectionsOpened);
    const closed = new Counter({ name: 'tether_connections_closed_total', help: 'Connections closed, by close code.',
      labelNames: ['code'], registers: [registry] });
    const rejected = new Counter({ name: 'tether_connections_rejected_total',
      help: 'Upgrades refused before the WebSocket opened, by HTTP status and kind (auth, origin, vsn, capacity, draining, connect_error, other).',
      labelNames: ['status', 'reason'], registers: [registry] });
    const joins = new Counter({ name: 'tether_joins_total', help: 'Channel joins accepted, by topic pattern.',
      labelNames: ['pattern'], registers: [registry] });
    const joinsRejected = new Counter({ name: 'tether_joins_rejected_total',
      help: 'Channel joins refused, by topic pattern ("unmatched" when no route).', labelNames: ['pattern'],
      registers: [registry] });
    const leaves = new Counter({ name: 'tether_channel_leaves_total', help: 'Channels that ended, by reason.',
      labelNames: ['reason'], registers: [registry] });
    new Gauge({ name: 'tether_channels', help: 'Joined channels on this node.', registers: [registry],
      collect() { this.set(t.channels); } });
    total('tether_messages_in_total', 'Frames received.', () => t.messagesIn);
    total('tether_bytes_in_total', 'Bytes received in frames.', () => t.bytesIn);
    total('tether_messages_out_total', 'Frames sent (a broadcast counts once per recipient).', () => t.messagesOut);
    total('tether_bytes_out_total', 'Bytes sent in frames.', () => t.bytesOut);
    total('tether_broadcasts_total', 'Broadcasts fanned out on this node.', () => t.broadcasts);
    total('tether_broadcast_deliveries_total', 'Broadcast frames delivered to local subscribers.', () => t.deliveries);
    const fanout = new Histogram({ name: 'tether_broadcast_fanout', help: 'Local recipients per broadcast.',
      buckets: FANOUT_BUCKETS, registers: [registry] });
    this.handlerLatency = new Histogram({ name: 'tether_handler_duration_seconds',
      help: 'Time in channel handlers (join and handle-in), by topic pattern.', labelNames: ['pattern'],
      buckets: LATENCY_BUCKETS, registers: [registry] });
    const replies = new Counter({ name: 'tether_replies_total', help: 'Channel handler outcomes (joins and pushes).',
      labelNames: ['status'], registers: [registry] });
    total('tether_heartbeats_total', 'Heartbeats received.', () => t.heartbeats);
    total('tether_idle_timeouts_total', 'Connections closed for sending nothing within idleTimeoutMs.',
      () => t.idleTimeouts);
    total('tether_slow_consumer_disconnects_total', 'Connections closed (4001) for staying over the outbound byte budget or passing the hard cap.',
      () => t.slowConsumers);
    const errors = new Counter({ name: 'tether_errors_total', help: 'Server errors, by kind (decode, join, channel, broker.publish, ...).',
      labelNames: ['context'], registers: [registry] });
    total('tether_outbox_pushes_total', 'Pushes that carried a client outbox id.', () => t.outboxPushes);
    total('tether_dedup_hits_total', 'Resent pushes answered from the de-duplication window.', () => t.dedupHits);
    total('tether_broker_gaps_total', 'Times the broker may have lost messages on topics that keep no history.',
      () => t.brokerGaps);
    total('tether_broker_gap_topics_total', 'Topics reported in broker gaps (each gap counts each of its topics).',
      () => t.brokerGapTopics);
    const rateLimited = new Counter({ name: 'tether_rate_limited_total',
      help: 'Frames refused for exceeding messagesPerSecond or joinsPerSecond, by kind (message, join).',
      labelNames: ['kind'], registers: [registry] });
    const broadcastFailures = new Counter({ name: 'tether_broadcast_failures_total',
      help: 'Broadcasts that did not go out, by reason (broker_error: the broker failed the publish; not_storable).',
      labelNames: ['reason'], registers: [registry] });
    total('tether_inbound_backlog_refused_total',
      'Frames refused because their channel inbound backlog was full (the last one of a run closes with 4003).',
      () => t.inboundRefused);
    this.brokerPublishLatency = new Histogram({ name: 'tether_broker_publish_duration_seconds',
      help: 'Time for the broker to accept a publish.', buckets: LATENCY_BUCKETS, registers: [registry] });
    this.#brokerPublishErrors = new Counter({ name: 'tether_broker_publish_errors_total',
      help: 'Broker publishes that failed.', registers: [registry] });
    const gaugeSource = () => this.#gaugeSource;
    new Gauge({ name: 'tether_topics', help: 'Topics with at least one local subscriber.', registers: [registry],
      collect() { const source = gaugeSource(); if (source) this.set(source.topics().size); } });

    const closedBy = children((code) => closed.labels(code));
    const rejectedBy = children((key) => rejected.labels(...(key.split(' ') as [string, string])));
    const joinsBy = children((pattern) => joins.labels(pattern));
    const joinsRejectedBy = children((pattern) => joinsRejected.labels(pattern));
    const leavesBy = children((reason) => leaves.labels(reason));
    const latencyBy = children((pattern) => this.handlerLatency.labels(pattern));
    const errorsBy = children((context) => errors.labels(context));
    const repliesBy = Object.fromEntries(REPLY_STATUSES.map((s) => [s, replies.labels(s)]));
    const rateLimitedBy = { join: rateLimited.labels('join'), message: rateLimited.labels('message') };
    const broadcastFailuresBy = { broker_error: broadcastFailures.labels('broker_error'), not_storable: broadcastFailures.labels('not_storable') };

    this.observer = {
      connectionOpened(info) {
        t.connectionsOpened++;
        t.connections++;
        if (info.transport === 'longpoll') t.longPollConnections++;
      },
      connectionClosed(info) {
        t.connectionsClosed++;
        t.connections--;
        if (info.transport === 'longpoll') t.longPollConnections--;
        closedBy(closeCodeLabel(info.code)).inc();
      },
      connectionRejected(info) {
        t.connectionsRejected++;
        rejectedBy(`${info.status} ${rejectionKind(info.reason)}`).inc();
      },
      channelJoined(info) {
        t.joins++;
        t.channels++;
        joinsBy(info.pattern).inc();
      },
      joinRejected(info) {
        t.joinsRejected++;
        joinsRejectedBy(info.pattern ?? 'unmatched').inc();
      },
      channelLeft(info) {
        t.channels--;
        leavesBy(info.reason).inc();
      },
      frameIn(info) {
        t.messagesIn++;
        t.bytesIn += info.bytes;
      },
      frameOut(bytes, frames) {
        t.messagesOut += frames;
        t.bytesOut += bytes;
      },
      handled(info) {
        latencyBy(info.pattern).observe(info.durationMs / 1000);
        repliesBy[info.status].inc();
      },
      broadcast(info) {
        t.broadcasts++;
        t.deliveries += info.recipients;
        fanout.observe(info.recipients);
      },
      heartbeat() {
        t.heartbeats++;
      },
      idleTimeout() {
        t.idleTimeouts++;
      },
      slowConsumer() {
        t.slowConsumers++;
      },
      error(_err, context) {
        t.errors++;
        errorsBy(errorKind(context)).inc();
      },
      outboxPush() {
        t.outboxPushes++;
      },
      dedupHit() {
        t.dedupHits++;
      },
      brokerGap(info) {
        t.brokerGaps++;
        t.brokerGapTopics += info.topics.length;
      },
      rateLimited(info) {
        t.rateLimited++;
        rateLimitedBy[info.kind].inc();
      },
      broadcastFailed(info) {
        t.broadcastFailures++;
        broadcastFailuresBy[info.reason].inc();
      },
      inboundBacklogFull() {
        t.inboundRefused++;
      },
    };
  }

  /** Reads the current topic count from the server at each scrape. */
  bindServer(source: ServerGaugeSource): void {
    this.#gaugeSource = source;
  }

  /**
   * Times every `broker.publish` into `tether_broker_publish_duration_seconds` by wrapping the method on this
   * broker instance. Returns a function that restores the original.
   */
  instrumentBroker(broker: Broker): () => void {
    const original = broker.publish;
    const histogram = this.brokerPublishLatency;
    const errors = this.#brokerPublishErrors;
    broker.publish = function (this: Broker, ...args: Parameters<Broker['publish']>) {
      const start = performance.now();
      const done = original.apply(this, args);
      done.then(
        () => histogram.observe((performance.now() - start) / 1000),
        () => errors.inc(),
      );
      return done;
    };
    return () => {
      broker.publish = original;
    };
  }

  /** The Prometheus text exposition of every metric. */
  async exposition(): Promise<string> {
    return this.registry.metrics();
  }
}

/** RFC 6455 codes (1000-1015) and Tether's own keep their number; any other code a peer chose is `other`. */
export function closeCodeLabel(code: number): string {
  return (code >= 1000 && code <= 1015) || closeCodeName(code) !== undefined ? String(code) : 'other';
}

/**
 * The server's error contexts name the instance (`decode c17`, `join room:* room:42`); the first word
 * (`decode`, `join`, `broker.publish`) is the bounded part, fit for a label.
 */
export function errorKind(context: string): string {
  const space = context.indexOf(' ');
  return space < 0 ? context : context.slice(0, space);
}

const REJECTION_KINDS: [RegExp, string][] = [
  [/^server is shutting down/, 'draining'],
  [/^too many connections/, 'capacity'],
  [/^unsupported vsn/, 'vsn'],
  [/^origin /, 'origin'],
  [/^connect hook refused/, 'auth'],
  [/^connect hook failed/, 'connect_error'],
];

/** A bounded label for an upgrade refusal, whose reason text may carry client input (an Origin, a vsn). */
export function rejectionKind(reason: string): string {
  for (const [pattern, kind] of REJECTION_KINDS) if (pattern.test(reason)) return kind;
  return 'other';
}

/** A memoised child lookup, so a label set is resolved once and each later call is one Map read. */
function children<C>(create: (key: string) => C): (key: string) => C {
  const cache = new Map<string, C>();
  return (key) => {
    let child = cache.get(key);
    if (child === undefined) cache.set(key, (child = create(key)));
    return child;
  };
}
