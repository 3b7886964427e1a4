/**
 * Coalescing where it is safe: a task's progress updates and a queue's counters are rate-limited per task (per
 * queue), the latest value winning, so a worker reporting 10,000 progress events a second does not flood
 * browsers. Every other event (created, waiting, active, completed, failed, notifications) passes at once and in
 * order: before a task's non-progress event goes out, that task's pending progress is flushed, so nothing is
 * reordered and the final progress always precedes completed. Nothing is ever dropped except a progress (or
 * counters) value superseded by a later one.
 */
import type { BrokerTimers } from '../../broker/timers.ts';
import type { TaskEvent } from '../types.ts';

export interface CoalescerOptions {
  /** Progress events per task per second at most; `false` turns coalescing off. Default 10. */
  progressPerSecond?: number | false;
  /** Queue counter events per queue per second at most; `false` turns it off. Default 10. */
  statusPerSecond?: number | false;
  /**
   * Tasks (and queues) whose last send time is remembered. Past it the least recently seen is forgotten, its
   * pending value sent first, so the bound never loses an event. Default 10000.
   */
  maxTracked?: number;
  timers: BrokerTimers & { now(): number };
  emit(event: TaskEvent): void;
}

import { COALESCER_DEFAULTS } from '../defaults.ts';

export { COALESCER_DEFAULTS };

interface Slot {
  lastSent: number;
  pending: TaskEvent | null;
  timer: unknown;
}

function intervalOf(perSecond: number | false): number {
  if (perSecond === false) return 0;
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`a rate must be a positive number or false, got ${perSecond}`);
  return 1000 / perSecond;
}

export class Coalescer {
  readonly #slots = new Map<string, Slot>();
  readonly #progressMs: number;
  readonly #statusMs: number;
  readonly #max: number;
  readonly #timers: CoalescerOptions['timers'];
  readonly #emit: (event: TaskEvent) => void;

  constructor(options: CoalescerOptions) {
    this.#progressMs = intervalOf(options.progressPerSecond ?? COALESCER_DEFAULTS.progressPerSecond);
    this.#statusMs = intervalOf(options.statusPerSecond ?? COALESCER_DEFAULTS.statusPerSecond);
    this.#max = options.maxTracked ?? COALESCER_DEFAULTS.maxTracked;
    this.#timers = options.timers;
    this.#emit = options.emit;
  }

  /** Values waiting for their slot (for tests and metrics). */
  get pending(): number {
    let n = 0;
    for (const slot of this.#slots.values()) if (slot.pending !== null) n++;
    return n;
  }

  /** Returns true when the event went out at once, false when it waits (and may be superseded). */
  push(event: TaskEvent): boolean {
    if (event.type === 'queue_status_changed') return this.#rateLimited(`q\n${event.status.queue}`, event, this.#statusMs);
    if (event.type === 'system_notification' || event.type === 'user_notification') {
      this.#emit(event);
      return true;
    }
    const key = `t\n${event.task.queue}\n${event.task.task_id}`;
    if (event.task.status === 'progress') return this.#rateLimited(key, event, this.#progressMs);
    const slot = this.#slots.get(key);
    if (slot) {
      this.#flush(key, slot);
      if (event.type === 'task_completed' || event.type === 'task_failed') this.#forget(key, slot);
    }
    this.#emit(event);
    return true;
  }

  /** Sends every pending value now (before shutting down). */
  flushAll(): void {
    for (const [key, slot] of [...this.#slots]) this.#flush(key, slot);
  }

  close(): void {
    this.flushAll();
    for (const [key, slot] of [...this.#slots]) this.#forget(key, slot);
  }

  #rateLimited(key: string, event: TaskEvent, intervalMs: number): boolean {
    if (intervalMs === 0) {
      this.#emit(event);
      return true;
    }
    const now = this.#timers.now();
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = { lastSent: -Infinity, pending: null, timer: null };
      this.#track(key, slot);
    }
    if (slot.pending === null && now - slot.lastSent >= intervalMs) {
      slot.lastSent = now;
      this.#emit(event);
      return true;
    }
    slot.pending = event;
    if (slot.timer === null) {
      const s = slot;
      // Clamped: a clock stepped backwards must not leave a value waiting for longer than one interval.
      const wait = Math.min(intervalMs, Math.max(0, s.lastSent + intervalMs - now));
      s.timer = this.#timers.setTimeout(() => {
        s.timer = null;
        this.#flush(key, s);
      }, wait);
    }
    return false;
  }

  #track(key: string, slot: Slot): void {
    if (this.#slots.size >= this.#max) {
      const [oldKey, oldSlot] = this.#slots.entries().next().value!;
      this.#flush(oldKey, oldSlot);
      this.#forget(oldKey, oldSlot);
    }
    this.#slots.set(key, slot);
  }

  #flush(_key: string, slot: Slot): void {
    if (slot.timer !== null) {
      this.#timers.clearTimeout(slot.timer);
      slot.timer = null;
    }
    const pending = slot.pending;
    if (pending === null) return;
    slot.pending = null;
    slot.lastSent = this.#timers.now();
    this.#emit(pending);
  }

  #forget(key: string, slot: Slot): void {
    if (slot.timer !== null) this.#timers.clearTimeout(slot.timer);
    this.#slots.delete(key);
  }
}
