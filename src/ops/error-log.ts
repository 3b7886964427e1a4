/**
 * Error logging that an outage cannot turn into a flood: the first error of a kind is written at once; more of
 * the same kind within `intervalMs` are only counted, and once per interval one line says how many there were
 * (with the last of them). A kind with no error for a whole interval is forgotten, so its next error is again
 * written at once. A kind is the first word of the error's context (`broker.publish`, `decode`, `encode`).
 */
import type { BrokerTimers } from '../broker/timers.ts';
import { errorKind } from './metrics.ts';

/** Default interval between two lines about the same kind of error. */
export const ERROR_LOG_INTERVAL_MS = 10_000;
/** Kinds tracked at once; errors of further kinds share one `other` kind (the set of kinds stays bounded). */
const MAX_KINDS = 64;

export interface ErrorLogEntry {
  err: Error;
  context: string;
  kind: string;
  /** 0 for the first error of a burst; otherwise how many errors of this kind the interval held (this the last). */
  repeated: number;
  intervalMs: number;
}

export interface RepeatedErrorLogOptions {
  write(entry: ErrorLogEntry): void;
  /** Default `ERROR_LOG_INTERVAL_MS`. */
  intervalMs?: number;
  /** Timers to schedule the summaries with (inject a virtual clock in tests); default unref'd system timers. */
  timers?: Pick<BrokerTimers, 'setTimeout' | 'clearTimeout'>;
}

interface KindState {
  repeated: number;
  last: { err: Error; context: string } | null;
  timer: unknown;
}

const unrefTimers: Pick<BrokerTimers, 'setTimeout' | 'clearTimeout'> = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class RepeatedErrorLog {
  readonly #kinds = new Map<string, KindState>();
  readonly #write: (entry: ErrorLogEntry) => void;
  readonly #intervalMs: number;
  readonly #timers: Pick<BrokerTimers, 'setTimeout' | 'clearTimeout'>;

  constructor(options: RepeatedErrorLogOptions) {
    this.#write = options.write;
    this.#intervalMs = options.intervalMs ?? ERROR_LOG_INTERVAL_MS;
    this.#timers = options.timers ?? unrefTimers;
  }

  report(err: Error, context: string): void {
    let kind = errorKind(context);
    if (!this.#kinds.has(kind) && this.#kinds.size >= MAX_KINDS) kind = 'other';
    const state = this.#kinds.get(kind);
    if (state !== undefined) {
      state.repeated++;
      state.last = { err, context };
      return;
    }
    this.#kinds.set(kind, { repeated: 0, last: null, timer: this.#schedule(kind) });
    this.#write({ err, context, kind, repeated: 0, intervalMs: this.#intervalMs });
  }

  /** Kinds currently inside an interval (for tests and diagnostics). */
  get trackedKinds(): number {
    return this.#kinds.size;
  }

  /** Drops pending summaries and their timers. */
  close(): void {
    for (const state of this.#kinds.values()) this.#timers.clearTimeout(state.timer);
    this.#kinds.clear();
  }

  #schedule(kind: string): unknown {
    return this.#timers.setTimeout(() => this.#endInterval(kind), this.#intervalMs);
  }

  #endInterval(kind: string): void {
    const state = this.#kinds.get(kind);
    if (state === undefined) return;
    if (state.repeated === 0 || state.last === null) {
      this.#kinds.delete(kind);
      return;
    }
    const { err, context } = state.last;
    const repeated = state.repeated;
    state.repeated = 0;
    state.last = null;
    state.timer = this.#schedule(kind);
    this.#write({ err, context, kind, repeated, intervalMs: this.#intervalMs });
  }
}
