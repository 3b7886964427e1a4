/**
 * The client's time source. `now()` is the wall clock (Date.now in production): heartbeat deadlines are
 * compared against it, so a timer that a browser throttled or a laptop suspended is noticed as late instead of
 * trusted. Tests inject a virtual clock and run in virtual time.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
