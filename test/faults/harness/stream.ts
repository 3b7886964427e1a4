/** Driving the stream fixtures: client worker processes, their accounting, and the table row it makes. */
import { startFixture, type FixtureProcess } from './processes.ts';
import type { FaultRow } from './table.ts';

/** One client's accounting, as `stream-clients.ts` reports it. */
export interface ClientSummary {
  received: number;
  unique: number;
  duplicates: number;
  inOrder: boolean;
  /** Messages inside spans a `recovered: false` join declared lost. */
  signalled: number;
  /** Messages missing with no signal: must always be 0. */
  unexplained: number;
  lostSignals: number;
  resyncs: number;
  joinedAt: number[];
  deadAt: number[];
  attemptsAt: number[];
  /** The endpoint (index into URLS) of each join in joinedAt. */
  joinedOn: number[];
  /** When the socket opened, and when it went to reconnecting (a loss or a failed attempt). */
  openedAt: number[];
  lostAt: number[];
  /** Upgrades refused with HTTP 503 (seen with TRANSPORT=ws). */
  refusedAt: number[];
  /** Connect timeouts and join timeouts. */
  timeoutsAt: number[];
}

export async function startClientWorkers(workers: number, perWorker: number, env: Record<string, string>): Promise<FixtureProcess[]> {
  const started = await Promise.all(
    Array.from({ length: workers }, (_, i) => startFixture(`clients-${i}`, 'stream-clients.ts', { ...env, COUNT: String(perWorker) }, 60_000)),
  );
  return started.map((s) => s.proc);
}

export async function collect(workers: readonly FixtureProcess[], total: number): Promise<ClientSummary[]> {
  const replies = await Promise.all(workers.map((w) => w.request('stats', { total }, 30_000)));
  return replies.flatMap((r) => r.clients as ClientSummary[]);
}

/** Every delivery latency the workers recorded (LATENCY=1), in ms. */
export async function latencies(workers: readonly FixtureProcess[]): Promise<number[]> {
  const replies = await Promise.all(workers.map((w) => w.request('stats', { total: 0 }, 30_000)));
  return replies.flatMap((r) => r.latencies as number[]);
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Polls until every client rejoined after `since` and accounts for all `total` messages (received, or
 * declared lost), or `timeoutMs` passes; returns the last accounting either way so assertions can say what.
 */
export async function settle(workers: readonly FixtureProcess[], total: number, since: number, timeoutMs: number): Promise<ClientSummary[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const summaries = await collect(workers, total);
    const done = summaries.every((s) => s.joinedAt.some((t) => t > since) && s.unique + s.signalled >= total);
    if (done || Date.now() > deadline) return summaries;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The latest first rejoin after `since`, across clients, in ms after `since`. */
export function timeToRejoin(summaries: readonly ClientSummary[], since: number): number {
  return Math.max(...summaries.map((s) => Math.min(...s.joinedAt.filter((t) => t > since)) - since));
}

export function streamRow(scenario: string, total: number, summaries: readonly ClientSummary[], recoverMs: number, note: string): FaultRow {
  const sum = (f: (s: ClientSummary) => number) => summaries.reduce((a, s) => a + f(s), 0);
  return {
    scenario,
    sent: total * summaries.length,
    received: sum((s) => s.unique),
    duplicates: sum((s) => s.duplicates),
    lost: sum((s) => s.signalled + s.unexplained),
    recoverMs,
    note,
  };
}
