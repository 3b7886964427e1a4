/** Retry policies: when to try again after a lost link or a failed join, and when to give up. */

export interface RetryContext {
  /** 1 for the first retry after a loss, 2 for the next, ... (resets once a connection or join succeeds). */
  attempt: number;
  /** Wall-clock ms since the link (or join) was first lost in this outage. */
  elapsedMs: number;
  /** Why the previous attempt ended (a socket transition reason, or a channel's `join_timeout` / `phx_error` / `join_refused`). */
  reason: string;
}

/** Returns the delay before the next attempt in ms, or null to give up (the socket moves to `failed`). */
export type RetryPolicy = (context: RetryContext) => number | null;

export interface FullJitterOptions {
  /** Upper bound of the first delay; doubles each attempt. Default 500. */
  baseMs?: number;
  /** Largest upper bound. Default 30000. */
  capMs?: number;
  /** Give up after this many attempts. Default Infinity. */
  maxAttempts?: number;
  /** Give up once this long has passed since the loss. Default Infinity. */
  maxElapsedMs?: number;
  /** Uniform [0, 1) source; injectable for tests. Default Math.random. */
  random?: () => number;
}

/**
 * AWS "full jitter": `random(0, min(cap, base * 2^(attempt-1)))`. The first retry is jittered too, so a
 * server restart is not followed by every client reconnecting in the same millisecond.
 */
export function fullJitterBackoff(options: FullJitterOptions = {}): RetryPolicy {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? Infinity;
  const maxElapsed = options.maxElapsedMs ?? Infinity;
  const random = options.random ?? Math.random;
  return ({ attempt, elapsedMs }) => {
    if (attempt > maxAttempts || elapsedMs >= maxElapsed) return null;
    const ceiling = Math.min(cap, base * 2 ** Math.min(attempt - 1, 52));
    return Math.floor(random() * ceiling);
  };
}

export interface OutageBackoffOptions {
  /** Upper bound of the first delay after a loss (uniform from 0). Default 250. */
  firstMaxMs?: number;
  /** Delays while the outage is young are uniform in [youngMinMs, youngMaxMs]. Defaults 400 and 900. */
  youngMinMs?: number;
  youngMaxMs?: number;
  /** How long an outage stays young. Default 10000. */
  youngForMs?: number;
  /** From this outage age on, delays are uniform in [longMinMs, longMaxMs]. Defaults 120000, 20000 and 40000. */
  longAfterMs?: number;
  longMinMs?: number;
  longMaxMs?: number;
  /** Give up after this many attempts. Default Infinity. */
  maxAttempts?: number;
  /** Give up once this long has passed since the loss. Default Infinity. */
  maxElapsedMs?: number;
  /** Uniform [0, 1) source; injectable for tests. Default Math.random. */
  random?: () => number;
}

/** The documented defaults of `outageBackoff` (docs/client.md, docs/recovery.md). */
export const OUTAGE_BACKOFF_DEFAULTS = {
  firstMaxMs: 250,
  youngMinMs: 400,
  youngMaxMs: 900,
  youngForMs: 10_000,
  longAfterMs: 120_000,
  longMinMs: 20_000,
  longMaxMs: 40_000,
} as const;

/**
 * The socket's default: delays follow how long the outage has lasted, not how many attempts failed. A young
 * outage (a blip, a restart) is retried about 1.5 times a second per client, so every client is back within
 * one short delay of the server's return; the band then grows geometrically with the outage's age to one
 * attempt per ~30 s after two minutes, so a long outage costs the server little. Every delay is jittered
 * (uniform in its band; the first in [0, firstMaxMs]) so returning clients arrive spread, not in waves.
 */
export function outageBackoff(options: OutageBackoffOptions = {}): RetryPolicy {
  const o = { ...OUTAGE_BACKOFF_DEFAULTS, ...options };
  const maxAttempts = options.maxAttempts ?? Infinity;
  const maxElapsed = options.maxElapsedMs ?? Infinity;
  const random = options.random ?? Math.random;
  const youngFor = Math.min(o.youngForMs, o.longAfterMs);
  const span = o.longAfterMs - youngFor;
  /** Geometric step between the young and the long value: equal ratios per equal stretch of outage time. */
  const between = (young: number, long: number, elapsed: number): number => {
    if (elapsed <= youngFor) return young;
    if (elapsed >= o.longAfterMs || span <= 0 || young <= 0) return long;
    return young * (long / young) ** ((elapsed - youngFor) / span);
  };
  return ({ attempt, elapsedMs }) => {
    if (attempt > maxAttempts || elapsedMs >= maxElapsed) return null;
    if (attempt === 1) return Math.floor(random() * o.firstMaxMs);
    const lo = between(o.youngMinMs, o.longMinMs, elapsedMs);
    const hi = Math.max(lo, between(o.youngMaxMs, o.longMaxMs, elapsedMs));
    return Math.floor(lo + random() * (hi - lo));
  };
}

/** Tracks attempts and elapsed time across one outage; the owner resets it after a success. */
export class RetrySchedule {
  #attempt = 0;
  #lostAt: number | null = null;
  readonly #policy: RetryPolicy;

  constructor(policy: RetryPolicy) {
    this.#policy = policy;
  }

  get attempts(): number {
    return this.#attempt;
  }

  /** The next delay, or null when the policy gives up. */
  next(now: number, reason: string): number | null {
    if (this.#lostAt === null) this.#lostAt = now;
    this.#attempt += 1;
    const delay = this.#policy({ attempt: this.#attempt, elapsedMs: now - this.#lostAt, reason });
    return delay === null ? null : Math.max(0, delay);
  }

  reset(): void {
    this.#attempt = 0;
    this.#lostAt = null;
  }
}
