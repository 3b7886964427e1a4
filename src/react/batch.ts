/**
 * Coalesces what channels deliver into few React updates. A socket can hand the page hundreds of frames
 * between two paints; handling each in its own task would render the subscribing components that many times.
 * Instead, event handlers (`useEvent`) are queued in arrival order and state notifications (`useChannel`,
 * `usePresence`, `useSocketState`) are de-duplicated, and all of them run in one synchronous pass, where React
 * batches every resulting state update into one render.
 *
 * The pass runs at the first animation frame after a frame in which nothing new arrived, so a burst is
 * rendered once it is over, and at the latest `maxDelayMs` after the first queued item, so a steady stream
 * still renders about ten times a second. A lone event is rendered one or two frames after it arrives.
 */
import { systemClock, type Clock } from '../client/clock.ts';

/** `frame`: batch as described above (default). `sync`: deliver at once, one task per message. */
export type UpdateMode = 'frame' | 'sync';

/** Animation frames: `requestAnimationFrame` in browsers; elsewhere a 16 ms timer on the clock. */
export interface FrameSource {
  request(callback: () => void): unknown;
  cancel(handle: unknown): void;
}

export interface UpdateBatcherOptions {
  mode?: UpdateMode;
  /** Longest an event or change waits before it reaches components (also the pace of hidden tabs, which get no frames). Default 100 ms. */
  maxDelayMs?: number;
  /** Queued handler calls that force a pass at once, so the queue stays bounded. Default 10,000. */
  maxQueued?: number;
  /** For tests: the time source and frame source. */
  clock?: Clock;
  frames?: FrameSource;
}

export const UPDATE_BATCH_DEFAULTS = { mode: 'frame', maxDelayMs: 100, maxQueued: 10_000 } as const;

const browserFrames = (): FrameSource | null =>
  typeof requestAnimationFrame === 'function' ? { request: (cb) => requestAnimationFrame(cb), cancel: (h) => cancelAnimationFrame(h as number) } : null;

export class UpdateBatcher {
  #queue: (() => void)[] = [];
  readonly #dirty = new Set<() => void>();
  #frame: unknown = null;
  #timer: unknown = null;
  #arrivedThisFrame = false;
  readonly #mode: UpdateMode;
  readonly #maxDelayMs: number;
  readonly #maxQueued: number;
  readonly #clock: Clock;
  readonly #frames: FrameSource;

  constructor(options: UpdateBatcherOptions = {}) {
    this.#mode = options.mode ?? UPDATE_BATCH_DEFAULTS.mode;
    this.#maxDelayMs = options.maxDelayMs ?? UPDATE_BATCH_DEFAULTS.maxDelayMs;
    this.#maxQueued = options.maxQueued ?? UPDATE_BATCH_DEFAULTS.maxQueued;
    this.#clock = options.clock ?? systemClock;
    const clock = this.#clock;
    this.#frames = options.frames ?? browserFrames() ?? { request: (cb) => clock.setTimeout(cb, 16), cancel: (h) => clock.clearTimeout(h) };
  }

  /** Runs `handler` in the next pass, after every handler queued before it. */
  deliver(handler: () => void): void {
    if (this.#mode === 'sync') return run(handler);
    this.#queue.push(handler);
    if (this.#queue.length >= this.#maxQueued) this.flush();
    else this.#schedule();
  }

  /** Calls `listener` once in the next pass, however many times it is notified before. */
  notify(listener: () => void): void {
    if (this.#mode === 'sync') return run(listener);
    this.#dirty.add(listener);
    this.#schedule();
  }

  /** Runs everything queued now. A throwing handler is reported and the others still run. */
  flush(): void {
    this.cancel();
    const queue = this.#queue;
    this.#queue = [];
    for (const handler of queue) run(handler);
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const listener of dirty) run(listener);
  }

  /** Drops the scheduled pass (what is queued stays queued until the next `deliver`, `notify` or `flush`). */
  cancel(): void {
    if (this.#frame !== null) this.#frames.cancel(this.#frame);
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#frame = null;
    this.#timer = null;
    this.#arrivedThisFrame = false;
  }

  #schedule(): void {
    this.#arrivedThisFrame = true;
    if (this.#timer !== null) return;
    this.#timer = this.#clock.setTimeout(() => this.flush(), this.#maxDelayMs);
    this.#frame = this.#frames.request(this.#onFrame);
  }

  readonly #onFrame = (): void => {
    this.#frame = null;
    if (!this.#arrivedThisFrame) return this.flush();
    this.#arrivedThisFrame = false;
    this.#frame = this.#frames.request(this.#onFrame);
  };
}

function run(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    // Surfaces like any uncaught error (window.onerror, the console) without stopping the rest of the pass.
    const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
    if (typeof report === 'function') report(err);
    else
      queueMicrotask(() => {
        throw err;
      });
  }
}
