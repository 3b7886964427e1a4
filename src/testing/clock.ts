/**
 * A virtual clock for timing logic (client heartbeat and backoff, server sweeps, a faulty link's schedule and
 * delays): timers run only when a test advances time. Pass the same instance as `clock` to the server, the
 * client Socket and the link so they share one timeline. `jump(ms)` moves the wall clock without firing
 * anything, like a suspended laptop waking up, so the next `advance` finds every due timer late.
 */
import { notifyChange } from './wait.ts';

interface VirtualTimer {
  id: number;
  due: number;
  callback: () => void;
  every: number | null;
}

export class VirtualClock {
  #time: number;
  /** Wall-clock steps from `jump`: the monotonic clock does not see them. */
  #jumped = 0;
  #nextId = 1;
  readonly #timers = new Map<number, VirtualTimer>();

  constructor(start = 1_700_000_000_000) {
    this.#time = start;
  }

  now = (): number => this.#time;
  /** A monotonic clock in step with `advance` but not with `jump`, like performance.now(). */
  monotonic = (): number => this.#time - this.#jumped;

  setTimeout = (callback: () => void, ms: number): unknown => this.#add(callback, ms, null);
  setInterval = (callback: () => void, ms: number): unknown => this.#add(callback, ms, Math.max(1, ms));
  clearTimeout = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };
  clearInterval = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };

  /** Timers not yet fired or cleared: a leak check after a test expects 0 (or the known long-lived ones). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** The time until the earliest timer, or null when none is scheduled. */
  nextDue(): number | null {
    let min: number | null = null;
    for (const t of this.#timers.values()) if (min === null || t.due < min) min = t.due;
    return min === null ? null : Math.max(0, min - this.#time);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order of due time. */
  advance(ms: number): void {
    const end = this.#time + ms;
    for (;;) {
      let next: VirtualTimer | undefined;
      for (const t of this.#timers.values()) if (t.due <= end && (!next || t.due < next.due || (t.due === next.due && t.id < next.id))) next = t;
      if (!next) break;
      this.#time = Math.max(this.#time, next.due);
      if (next.every === null) this.#timers.delete(next.id);
      else next.due += next.every;
      next.callback();
    }
    this.#time = end;
    notifyChange();
  }

  /** Async variant: lets promise continuations (async providers, awaited writes) run after each due time. */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.#time + ms;
    for (;;) {
      this.advance(0);
      await flushMicrotasks();
      if (this.#time >= end) return;
      const due = this.nextDue();
      this.advance(Math.min(end - this.#time, due ?? Infinity));
      await flushMicrotasks();
    }
  }

  /** Moves the wall clock without firing timers (suspend / resume, or an NTP step). */
  jump(ms: number): void {
    this.#time += ms;
    this.#jumped += ms;
  }

  #add(callback: () => void, ms: number, every: number | null): number {
    const id = this.#nextId++;
    this.#timers.set(id, { id, due: this.#time + Math.max(0, ms), callback, every });
    return id;
  }
}

/** Resolves after every queued microtask (and the ones they queue, a few levels deep) has run. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
