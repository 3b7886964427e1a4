/**
 * Per-connection rate limits: a token bucket that refills `perSecond` tokens a second up to `burst`. A
 * frame over the limit is refused but still counted, so a client that keeps sending runs into debt, and
 * one `burst` of refused frames beyond the limit is the end of its patience (`exceeded`).
 */

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export const RateVerdict = { ok: 0, limited: 1, exceeded: 2 } as const;
export type RateVerdict = (typeof RateVerdict)[keyof typeof RateVerdict];

/** One token, in the bucket's integer unit (a millisecond refills `perSecond` units). */
const TOKEN = 1000;

export class TokenBucket {
  /** Tokens x 1000, integral so it stays a small integer; below zero is debt. */
  #level: number;
  #at: number;

  constructor(limit: RateLimit, now: number) {
    this.#level = limit.burst * TOKEN;
    this.#at = now;
  }

  /** Takes one token at time `now` (ms, non-decreasing). */
  take(limit: RateLimit, now: number): RateVerdict {
    const elapsed = now - this.#at;
    const full = limit.burst * TOKEN;
    let level = this.#level;
    if (elapsed > 0) {
      this.#at = now;
      if (level < full) level = Math.min(full, level + elapsed * limit.perSecond);
    }
    const had = level;
    this.#level = level = Math.max(-full - TOKEN, level - TOKEN);
    if (had >= TOKEN) return RateVerdict.ok;
    return level < -full ? RateVerdict.exceeded : RateVerdict.limited;
  }
}
