/** The IPC vocabulary between the runner and its load workers (one request, one reply, matched by id). */
import type { LatencySnapshot } from '../../src/ops/latency-histogram.ts';

export const TARGET_KINDS = ['ws', 'socketio', 'tether'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface Endpoint {
  kind: TargetKind;
  port: number;
  /** Loopback source addresses the clients of this server bind to, round-robin (see BenchContext). */
  sourceAddresses: string[];
}

export type WorkerCommand =
  | {
      op: 'connect';
      endpoint: Endpoint;
      count: number;
      /** Topic of connection i; `{i}` is replaced by the connection's global index. */
      topic: string;
      firstIndex: number;
      concurrency: number;
    }
  | { op: 'resetStats' }
  | { op: 'stats' }
  | { op: 'publish'; endpoint: Endpoint; topic: string; perSecond: number; durationMs: number; bodyBytes: number }
  | { op: 'reqreply'; endpoint: Endpoint; clients: number; durationMs: number }
  | { op: 'churn'; endpoint: Endpoint; cycles: number; concurrency: number }
  | {
      /** Task progress reports to POST /api/publish, as a worker in any language would send them (tasks workload). */
      op: 'publishTasks';
      endpoint: Endpoint;
      queue: string;
      tasks: number;
      perSecond: number;
      durationMs: number;
    }
  | { op: 'closeAll' };

export type WorkerRequest = WorkerCommand & { id: number };

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError?: string;
}

export interface StatsResult {
  received: number;
  latency: LatencySnapshot;
  /** p99 of the worker's event-loop delay since resetStats, in ms. */
  loopDelayP99Ms: number;
}

export interface PublishResult {
  sent: number;
  acked: number;
}

export interface PublishTasksResult {
  /** Progress events sent in POST bodies, and those the server answered 200 for. */
  sent: number;
  accepted: number;
  failedRequests: number;
  firstError?: string;
}

export interface ReqReplyResult {
  roundTrips: number;
  latency: LatencySnapshot;
}

export interface ChurnResult {
  cycles: number;
  failed: number;
  firstError?: string;
}

export interface WorkerReply {
  id: number;
  ok: boolean;
  error?: string;
  result?: unknown;
}

/** What a target server process understands on its IPC channel. */
export type TargetCommand = { op: 'gc' } | { op: 'heapSnapshot'; path: string } | { op: 'probe'; reset: boolean };

/**
 * The tasks workload's look inside the server (`probe`): how long reports took from their `timestamp` to the
 * hub's broadcast on the watched topic, and the server's event-loop delay, since the last reset.
 */
export interface TaskProbe {
  toBroadcast: LatencySnapshot;
  loopDelayP99Ms: number;
}
