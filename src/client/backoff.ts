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

/** Tracks attempts and elapsed time across one outage; the owner resets it after a success. */
export class RetrySchedule {
  private attempt = 0;
  private lostAt: number | null = null;
  private readonly policy: RetryPolicy;

  constructor(policy: RetryPolicy) {
    this.policy = policy;
  }

  get attempts(): number {
    return this.attempt;
  }

  /** The next delay, or null when the policy gives up. */
  next(now: number, reason: string): number | null {
    if (this.lostAt === null) this.lostAt = now;
    this.attempt += 1;
    const delay = this.policy({ attempt: this.attempt, elapsedMs: now - this.lostAt, reason });
    return delay === null ? null : Math.max(0, delay);
  }

  reset(): void {
    this.attempt = 0;
    this.lostAt = null;
  }
}
