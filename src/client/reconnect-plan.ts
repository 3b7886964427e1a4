/**
 * Where and when the next connection attempt goes after a loss: the retry policy's delay, the next endpoint
 * when there are several, and a draining server's reconnect hint (docs/recovery.md) when there is only one.
 */
import type { ReconnectHint } from '../protocol/extension.ts';
import { RetrySchedule, type RetryPolicy } from './backoff.ts';
import { EndpointRotation } from './endpoints.ts';

export interface NextAttempt {
  delayMs: number;
  endpoint: string;
  /** The delay came from the server's drain hint, not from the policy. */
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
   * endpoints it moves to the next one at the policy's delay (a drain hint speaks only for the node that sent
   * it); with one, a draining server's hint sets the delay: the rest of the drain, then a random point in its
   * window, so the fleet returns spread.
   */
  next(now: number, reason: string, hint: ReconnectHint | null = null): NextAttempt | null {
    const delay = this.#schedule.next(now, reason);
    if (delay === null) return null;
    if (this.endpoints.several) return { delayMs: delay, endpoint: this.endpoints.advance(), hinted: false };
    if (hint === null) return { delayMs: delay, endpoint: this.endpoint, hinted: false };
    return { delayMs: hint.afterMs + Math.floor(this.#random() * hint.windowMs), endpoint: this.endpoint, hinted: true };
  }

  /** A connection opened: the next outage starts its schedule afresh (the endpoint stays). */
  reset(): void {
    this.#schedule.reset();
  }
}
