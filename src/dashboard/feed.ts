/**
 * What the admin channel feeds the dashboard: its topic and the events it pushes. The dashboard declares what
 * it draws; ops (src/ops/admin-channel.ts, src/ops/sampler.ts) produces it, so ops knows the dashboard and the
 * dashboard knows nothing of ops.
 */

/** The admin channel's topic. */
export const ADMIN_TOPIC = 'tether:admin';

/** Node facts shown in the dashboard's header. */
export type NodeInfo = {
  /** The broker's node id. */
  node: string;
  startedAt: number;
  /** Where clients connect, e.g. `ws://127.0.0.1:4000/socket/websocket`. */
  endpoint: string;
  /** With `tether serve --workers`: every worker of this machine and its connections. */
  workers?: WorkerInfo[];
};

/** One worker process of `tether serve --workers`. */
export type WorkerInfo = { node: string; pid: number; connections: number; restarts: number };

/** One sampling interval of the server, as the dashboard's charts and figures draw it. */
export type Sample = {
  /** Wall-clock time of the sample (ms since the epoch). */
  t: number;
  connections: number;
  channels: number;
  topics: number;
  messagesInPerSec: number;
  messagesOutPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  /** Handler latency over the last interval in ms; null when nothing was handled. */
  latencyMs: { p50: number; p95: number; p99: number } | null;
  eventLoopLagMs: number;
  rssBytes: number;
  heapUsedBytes: number;
};

export type TopicRow = {
  topic: string;
  subscribers: number;
  /** Presence keys on the topic (distinct users), and the first few of them. */
  presence: number;
  present: string[];
};

export type RecentEvent = {
  t: number;
  kind: 'disconnect' | 'rejected' | 'error';
  /** e.g. `4001 slowConsumer`, `403`, or the error context. */
  label: string;
  detail: string;
};

/** The events the admin channel pushes: the wire contract between ops' feed and the dashboard. */
export type AdminEvents = {
  snapshot: { info: NodeInfo; history: Sample[]; recent: RecentEvent[]; topics: TopicRow[] };
  sample: { sample: Sample; events: RecentEvent[]; topics: TopicRow[]; workers?: WorkerInfo[] };
};
