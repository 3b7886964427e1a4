/**
 * The client's time source. `now()` is the wall clock (Date.now in production): heartbeat deadlines are
 * compared against it, so a timer that a browser throttled or a laptop suspended is noticed as late instead of
 * trusted. `monotonic()` (performance.now in production) measures durations: round trips and push latency, to
 * the microsecond and immune to clock steps. Tests inject a virtual clock and run in virtual time.
 */
export interface Clock {
  /** Wall-clock ms since the epoch. */
  now(): number;
  /** Ms from a monotonic high-resolution source, for durations only. Default: `now()` of the same clock. */
  monotonic?(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days); browsers and Node fire a longer one at once. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** `clock` with every delay clamped to [0, MAX_TIMER_DELAY_MS] before it reaches a timer, and `monotonic` always there. */
export function boundedClock(clock: Clock): Required<Clock> {
  const monotonic = clock.monotonic ? () => clock.monotonic!() : () => clock.now();
  return {
    now: () => clock.now(),
    monotonic,
    setTimeout: (callback, ms) => clock.setTimeout(callback, clampDelay(ms)),
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
}

export function clampDelay(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_DELAY_MS) : 0;
}
