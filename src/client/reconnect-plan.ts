/**
 * Where and when the next connection attempt goes after a loss: the retry policy's delay, the next endpoint
 * when there are several (at once when the one left is draining), and a draining server's reconnect hint
 * (docs/recovery.md) when there is only one.
 */
import type { ReconnectHint } from '../protocol/extension.ts';
import { RetrySchedule, type RetryPolicy } from './backoff.ts';
import { EndpointRotation } from './endpoints.ts';

export interface NextAttempt {
  delayMs: number;
  endpoint: string;
  /** The delay came from a draining server (its hint, or at once to another endpoint), not from the policy. */
  hinted: boolean;
}

export class ReconnectPlan {
  readonly endpoints: EndpointRotation;
  readonly #schedule: RetrySchedule;
  readonly #random: () => number;

  constructor(endpoints: string | readonly string[], policy: RetryPolicy, random: () => number = Math.random) {
    this.endpoints = new EndpointRotation(endpoints);
    this.#schedule = new RetrySchedule(policy);
    this.#random = random;
  }

  get endpoint(): string {
    return this.endpoints.current;
  }

  get attempts(): number {
    return this.#schedule.attempts;
  }

  /**
   * The next attempt after a failed attempt or a dropped link, or null when the policy gives up. With several
   * endpoints it moves to the next one: at once when the node it leaves is draining (the hint's spread protects
   * that node's restart, which the move does not touch; the other node takes the fleet at its own pace), at the
   * policy's delay otherwise. With one endpoint, a draining server's hint sets the delay: the rest of the
   * drain, then a random point in its window, so the fleet returns spread.
   */
  next(now: number, reason: string, hint: ReconnectHint | null = null): NextAttempt | null {
    const delay = this.#schedule.next(now, reason);
    if (delay === null) return null;
    if (this.endpoints.several) return { delayMs: hint === null ? delay : 0, endpoint: this.endpoints.advance(), hinted: hint !== null };
    if (hint === null) return { delayMs: delay, endpoint: this.endpoint, hinted: false };
    return { delayMs: hint.afterMs + this.spread(hint), endpoint: this.endpoint, hinted: true };
  }

  /** A random point (ms) in a drain hint's window: when a socket with another endpoint starts its move (one without, after `afterMs`). */
  spread(hint: ReconnectHint): number {
    return Math.floor(this.#random() * hint.windowMs);
  }

  /** A connection opened: the next outage starts its schedule afresh (the endpoint stays). */
  reset(): void {
    this.#schedule.reset();
  }
}
