/** Reading the workers' timestamps around one outage: rejoin percentiles, attempt rates, refusals, timeouts. */
import { percentile, type ClientSummary } from './stream.ts';

const WINDOW_MS = 100;

export interface OutageFigures {
  scenario: string;
  schedule: string;
  /** From the kill (or the drain) to the server being ready again. */
  downMs: number;
  clients: number;
  rejoined: number;
  /** First rejoin after the outage began, in ms after `readyAt` (negative: before it, on another node). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Most connection attempts in one 100 ms window while the server was down, and from its return until all rejoined. */
  peakDown: number;
  peakBack: number;
  /** Attempts per second per client over the outage's first 10 s, and over its last 30 s (outages of 60 s and more). */
  rateYoung: number;
  rateLate: number | null;
  /** Each client's own time without a link: from its loss (the 1012 it read, or the kill) to its rejoin. */
  gapP50: number;
  gapP99: number;
  gapMax: number;
  /** HTTP 503s from the server that came back (client-seen or counted by that server), and from the draining one. */
  refused: number;
  refusedDraining: number;
  timeouts: number;
}

function peak(times: readonly number[], from: number, to: number): number {
  const counts = new Map<number, number>();
  let best = 0;
  for (const t of times) {
    if (t < from || t >= to) continue;
    const w = Math.floor((t - from) / WINDOW_MS);
    const n = (counts.get(w) ?? 0) + 1;
    counts.set(w, n);
    if (n > best) best = n;
  }
  return best;
}

const between = (times: readonly number[], from: number, to: number) => times.filter((t) => t >= from && t < to).length;

/** `lostAt`: when the server went away (kill, or the drain's start); `readyAt`: when it (or the other node) was ready. */
export function outageFigures(scenario: string, schedule: string, summaries: readonly ClientSummary[], lostAt: number, readyAt: number): OutageFigures {
  const firstJoin = summaries.map((s) => s.joinedAt.find((t) => t > lostAt));
  const back = firstJoin.filter((t): t is number => t !== undefined);
  const lastJoin = back.length > 0 ? Math.max(...back) : readyAt;
  const attempts = summaries.flatMap((s) => s.attemptsAt);
  const rel = back.map((t) => t - readyAt);
  const gaps: number[] = [];
  for (const s of summaries) {
    const lost = s.lostAt.find((t) => t >= lostAt);
    const joined = s.joinedAt.find((t) => t > lostAt);
    if (lost !== undefined && joined !== undefined) gaps.push(joined - lost);
  }
  const youngEnd = Math.min(readyAt, lostAt + 10_000);
  const downMs = readyAt - lostAt;
  const clients = summaries.length;
  return {
    scenario,
    schedule,
    downMs,
    clients,
    rejoined: back.length,
    p50: percentile(rel, 50),
    p90: percentile(rel, 90),
    p99: percentile(rel, 99),
    max: rel.length > 0 ? Math.max(...rel) : NaN,
    peakDown: peak(attempts, lostAt, readyAt),
    peakBack: peak(attempts, readyAt, lastJoin + 1),
    rateYoung: between(attempts, lostAt, youngEnd) / clients / Math.max(0.001, (youngEnd - lostAt) / 1000),
    rateLate: downMs >= 60_000 ? between(attempts, readyAt - 30_000, readyAt) / clients / 30 : null,
    gapP50: percentile(gaps, 50),
    gapP99: percentile(gaps, 99),
    gapMax: gaps.length > 0 ? Math.max(...gaps) : NaN,
    refused: summaries.reduce((n, s) => n + between(s.refusedAt, readyAt, lastJoin + 1), 0),
    refusedDraining: summaries.reduce((n, s) => n + between(s.refusedAt, lostAt, readyAt), 0),
    timeouts: summaries.reduce((n, s) => n + between(s.timeoutsAt, lostAt, lastJoin + 1), 0),
  };
}

const sec = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '-');

export function figuresTable(rows: readonly OutageFigures[]): string {
  const head =
    '| scenario | schedule | down (s) | rejoined | p50 / p90 / p99 / max after ready (s) | each client without a link p50 / p99 / max (s) | peak attempts per 100 ms: down / back | attempts per s per client: first 10 s / last 30 s | 503s: returned server / draining one | timeouts |\n' +
    '|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.schedule} | ${sec(r.downMs)} | ${r.rejoined}/${r.clients} | ${sec(r.p50)} / ${sec(r.p90)} / ${sec(r.p99)} / ${sec(r.max)} | ${sec(r.gapP50)} / ${sec(r.gapP99)} / ${sec(r.gapMax)} | ` +
      `${r.peakDown} / ${r.peakBack} | ${r.rateYoung.toFixed(2)} / ${r.rateLate === null ? '-' : r.rateLate.toFixed(3)} | ${r.refused} / ${r.refusedDraining} | ${r.timeouts} |`,
  );
  return [head, ...lines].join('\n');
}
