/**
 * Turns running totals into the per-second picture the dashboard draws: rates, handler latency percentiles
 * (estimated from the histogram's buckets, as Prometheus' histogram_quantile does), event-loop lag, memory,
 * the busiest topics with their presence, and the disconnects and errors since the previous sample.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { closeCodeMeaning, closeCodeName } from '../protocol/close-codes.ts';
import type { ServerObserver } from '../server/observer.ts';
import type { RecentEvent, Sample, TopicRow } from '../dashboard/feed.ts';
import { errorKind, type MetricTotals, type ServerMetrics } from './metrics.ts';

/** What the sampler reads from the server. */
export interface SampledServer {
  topics(): Map<string, number>;
  presence?: { list(topic: string): Record<string, unknown> };
}

export interface SamplerOptions {
  metrics: ServerMetrics;
  /** Can also be given later with `bind()`. */
  server?: SampledServer;
  now?: () => number;
  /** Samples kept for a dashboard that joins later. Default 300 (five minutes at 1 Hz). */
  historySize?: number;
  /** Recent events kept. Default 100. */
  recentSize?: number;
  /** Topics listed, busiest first. Default 50. */
  topicLimit?: number;
  /** Topics hidden from the topic list (the admin channel itself). */
  hiddenTopics?: ReadonlySet<string>;
}

export class Sampler {
  readonly history: Sample[] = [];
  readonly recent: RecentEvent[] = [];
  /** Events recorded since the last `sample()`. */
  #fresh: RecentEvent[] = [];
  /** Records disconnects (other than clean 1000/1001), refused upgrades and server errors. */
  readonly observer: ServerObserver;
  readonly #options: Required<Omit<SamplerOptions, 'hiddenTopics' | 'server'>> & { hiddenTopics: ReadonlySet<string> };
  #server: SampledServer | undefined;
  readonly #lag = monitorEventLoopDelay({ resolution: 10 });
  #last: { t: number; totals: MetricTotals; buckets: Map<number, number> } | undefined;

  constructor(options: SamplerOptions) {
    this.#options = {
      now: Date.now,
      historySize: 300,
      recentSize: 100,
      topicLimit: 50,
      hiddenTopics: new Set(),
      ...options,
    };
    this.#server = options.server;
    this.#lag.enable();
    const record = (kind: RecentEvent['kind'], label: string, detail: string) =>
      this.#record({ t: this.#options.now(), kind, label, detail });
    this.observer = {
      connectionClosed: (info) => {
        if (info.code === 1000 || info.code === 1001 || info.code === 1005) return;
        const name = closeCodeName(info.code);
        // The label stays short for the list; the detail says in words what the code means (4001: read too slowly).
        record('disconnect', name ? `${info.code} ${name}` : String(info.code), `${closeCodeMeaning(info.code)}; ${info.reason} (${info.id})`);
      },
      connectionRejected: (info) => record('rejected', String(info.status), info.reason),
      error: (err, context) => record('error', errorKind(context), `${err.message} (${context})`),
    };
  }

  bind(server: SampledServer): void {
    this.#server = server;
  }

  #record(event: RecentEvent): void {
    this.recent.push(event);
    if (this.recent.length > this.#options.recentSize) this.recent.shift();
    this.#fresh.push(event);
    if (this.#fresh.length > this.#options.recentSize) this.#fresh.shift();
  }

  /** Takes one sample and returns it with the events recorded since the previous one. */
  async sample(): Promise<{ sample: Sample; events: RecentEvent[] }> {
    const { metrics, now } = this.#options;
    const t = now();
    const totals = { ...metrics.totals };
    const buckets = await latencyBuckets(metrics);
    const last = this.#last ?? { t: t - 1000, totals, buckets };
    const seconds = Math.max((t - last.t) / 1000, 0.001);
    const rate = (key: keyof MetricTotals) => Math.max(0, (totals[key] - last.totals[key]) / seconds);
    const memory = process.memoryUsage();
    const sample: Sample = {
      t,
      connections: totals.connections,
      longPollConnections: totals.longPollConnections,
      channels: totals.channels,
      topics: this.#topicCount(),
      messagesInPerSec: rate('messagesIn'),
      messagesOutPerSec: rate('messagesOut'),
      bytesInPerSec: rate('bytesIn'),
      bytesOutPerSec: rate('bytesOut'),
      latencyMs: percentiles(buckets, last.buckets),
      eventLoopLagMs: this.#lag.count > 0 ? this.#lag.percentile(99) / 1e6 : 0,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    };
    this.#lag.reset();
    this.#last = { t, totals, buckets };
    this.history.push(sample);
    if (this.history.length > this.#options.historySize) this.history.shift();
    const events = this.#fresh;
    this.#fresh = [];
    return { sample, events };
  }

  #topicCount(): number {
    const topics = this.#server?.topics();
    if (!topics) return 0;
    let hidden = 0;
    for (const topic of this.#options.hiddenTopics) if (topics.has(topic)) hidden++;
    return topics.size - hidden;
  }

  /** The busiest topics, with presence counts where the server tracks presence. */
  topicRows(): TopicRow[] {
    const { topicLimit, hiddenTopics } = this.#options;
    const server = this.#server;
    const rows: TopicRow[] = [];
    if (!server) return rows;
    for (const [topic, subscribers] of server.topics()) {
      if (!hiddenTopics.has(topic)) rows.push({ topic, subscribers, presence: 0, present: [] });
    }
    rows.sort((a, b) => b.subscribers - a.subscribers || a.topic.localeCompare(b.topic));
    rows.length = Math.min(rows.length, topicLimit);
    for (const row of rows) {
      const keys = server.presence ? Object.keys(server.presence.list(row.topic)) : [];
      row.presence = keys.length;
      row.present = keys.slice(0, 8);
    }
    return rows;
  }

  close(): void {
    this.#lag.disable();
  }
}

/** Cumulative handler-latency counts by upper bound (seconds), summed over every pattern. */
async function latencyBuckets(metrics: ServerMetrics): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const value of (await metrics.handlerLatency.get()).values) {
    if (value.metricName !== 'tether_handler_duration_seconds_bucket') continue;
    const { le: bound } = value.labels as { le?: string | number };
    const le = bound === '+Inf' ? Infinity : Number(bound);
    out.set(le, (out.get(le) ?? 0) + value.value);
  }
  return out;
}

/** p50/p95/p99 in ms of the observations between two cumulative bucket snapshots, interpolated in-bucket. */
export function percentiles(
  current: Map<number, number>,
  previous: Map<number, number>,
): { p50: number; p95: number; p99: number } | null {
  const bounds = [...current.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (current.get(le) ?? 0) - (previous.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const quantile = (q: number) => {
    const rank = q * total;
    for (let i = 0; i < bounds.length; i++) {
      if (counts[i] >= rank) {
        const lower = i === 0 ? 0 : bounds[i - 1];
        const below = i === 0 ? 0 : counts[i - 1];
        // Past the last finite bucket there is no upper bound to interpolate to: report its lower bound.
        if (bounds[i] === Infinity) return lower * 1000;
        const inBucket = counts[i] - below;
        return (lower + (bounds[i] - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1)) * 1000;
      }
    }
    return bounds[bounds.length - 2] * 1000;
  };
  return { p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99) };
}
