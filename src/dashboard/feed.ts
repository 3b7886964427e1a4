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
  /** Of `connections`, those on the long-poll transport. */
  longPollConnections: number;
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
} & TasksEvents;

/**
 * One queue's counters: the tasks module's QueueStatus, restated because the dashboard imports only protocol and
 * client. `ops.showTasks(tasks.overview)` in src/cli/serve.ts type-checks that the tasks module's overview fits.
 */
export type TaskQueueRow = {
  queue: string;
  total_tasks: number;
  pending_tasks: number;
  running_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
};

/** A task as the Tasks view lists it (running, or failed with its message). */
export type TaskRow = { queue: string; task_id: string; status: string; progress?: number; message?: string; timestamp?: number };

/**
 * The Tasks view's picture at one sample: each queue's counters, the running tasks (at most `runningLimit`) and
 * the latest failures (at most `failureLimit`), both newest first. Absent from the feed when the server has no
 * task queues.
 */
export type TasksPicture = { t: number; queues: TaskQueueRow[]; running: TaskRow[]; failures: TaskRow[] };

/** What the admin channel pushes for the Tasks view: a snapshot (with the counters' history) and one per sample. */
export type TasksEvents = {
  /** After every join when the server has task queues: the counters' history (oldest first) and the latest picture. */
  tasks_snapshot: { history: TaskCounters[]; latest: TasksPicture | null };
  tasks: TasksPicture;
};

/** Each queue's counters at one sample, for the charts. */
export type TaskCounters = { t: number; queues: TaskQueueRow[] };
