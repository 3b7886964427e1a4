/**
 * Dead-link detection. A heartbeat goes out `intervalMs` after the link opened or after the previous reply; if
 * no reply arrives within `timeoutMs` the link is declared dead. Two guards prevent false deaths:
 * - every deadline is checked against the wall clock, and a timer that fires more than `lateToleranceMs`
 *   late (throttled tab, suspended laptop, clock step) means the process could not have seen the reply in
 *   time, so the monitor probes at once with a fresh deadline instead;
 * - while the page is hidden a missed deadline only marks the link suspect; `resume()` probes.
 */
import type { Clock } from './clock.ts';

export interface HeartbeatOptions {
  /** Deadlines on its wall clock (`now`), round trips on its monotonic one. */
  clock: Required<Clock>;
  intervalMs: number;
  timeoutMs: number;
  lateToleranceMs: number;
  /** Sends a heartbeat and returns its ref. */
  send(): string;
  /** The link is dead: no reply to a heartbeat the process was awake to see answered. */
  onDead(): void;
  /** A reply arrived; `rttMs` is the round trip on the monotonic clock. */
  onRtt(rttMs: number): void;
}

export class HeartbeatMonitor {
  readonly #o: HeartbeatOptions;
  #timer: unknown = null;
  /** When the pending timer should fire, for lateness checks. */
  #due = 0;
  #pendingRef: string | null = null;
  #sentAt = 0;
  #sentAtMonotonic = 0;
  #hidden = false;
  #suspect = false;
  #running = false;
  /** Deadlines missed (each ends the link unless a probe was due). */
  misses = 0;
  /** Late timers that were turned into probes. */
  jumps = 0;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
  }

  start(): void {
    this.stop();
    this.#running = true;
    this.#scheduleBeat(this.#o.intervalMs);
  }

  stop(): void {
    this.#running = false;
    this.#clear();
    this.#pendingRef = null;
    this.#suspect = false;
  }

  /** Sends a heartbeat now (unless one is already waiting with a fresh deadline) and arms its deadline. */
  probe(): void {
    if (!this.#running) return;
    this.#beat();
  }

  /** Handles a heartbeat reply; returns true when `ref` was the pending heartbeat's. */
  onReply(ref: string): boolean {
    if (ref !== this.#pendingRef) return false;
    this.#pendingRef = null;
    this.#suspect = false;
    this.#o.onRtt(Math.max(0, this.#o.clock.monotonic() - this.#sentAtMonotonic));
    if (this.#running) this.#scheduleBeat(this.#o.intervalMs);
    return true;
  }

  setHidden(hidden: boolean): void {
    this.#hidden = hidden;
  }

  /** The page became visible again: probe at once if anything was missed or pending. */
  resume(): void {
    this.#hidden = false;
    if (this.#running && (this.#suspect || this.#pendingRef !== null)) this.#beat();
  }

  #beat(): void {
    this.#clear();
    this.#pendingRef = this.#o.send();
    this.#sentAt = this.#o.clock.now();
    this.#sentAtMonotonic = this.#o.clock.monotonic();
    this.#schedule(this.#o.timeoutMs, () => this.#checkDeadline());
  }

  #checkDeadline(): void {
    const now = this.#o.clock.now();
    const late = now - this.#due;
    if (late > this.#o.lateToleranceMs || late < -this.#o.lateToleranceMs) {
      this.jumps += 1;
      this.#beat();
      return;
    }
    const remaining = this.#sentAt + this.#o.timeoutMs - now;
    if (remaining > 0) {
      this.#schedule(remaining, () => this.#checkDeadline());
      return;
    }
    this.misses += 1;
    if (this.#hidden) {
      this.#suspect = true;
      return;
    }
    this.stop();
    this.#o.onDead();
  }

  #scheduleBeat(ms: number): void {
    this.#clear();
    this.#schedule(ms, () => this.#beat());
  }

  #schedule(ms: number, fn: () => void): void {
    this.#due = this.#o.clock.now() + ms;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null;
      fn();
    }, ms);
  }

  #clear(): void {
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
