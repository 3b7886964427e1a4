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
  emit(routed: Routed): void;
}

/** An event with the topics that carry it, worked out once when it was published. */
export interface Routed {
  readonly event: TaskEvent;
  readonly topics: readonly string[];
}

import { COALESCER_DEFAULTS } from '../defaults.ts';

export { COALESCER_DEFAULTS };

interface Slot {
  key: string;
  lane: Lane;
  lastSent: number;
  pending: Routed | null;
}

/**
 * One rate (progress, or counters) and its one timer. The timer fires when the earliest waiting value is due and
 * sends every value due by then in that one callback, so the broadcasts of many tasks leave in one tick: the
 * server writes their frames to each socket together (one write per socket, not one per task).
 */
interface Lane {
  intervalMs: number;
  waiting: Set<Slot>;
  timer: unknown;
}

function intervalOf(perSecond: number | false): number {
  if (perSecond === false) return 0;
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`a rate must be a positive number or false, got ${perSecond}`);
  return 1000 / perSecond;
}

export class Coalescer {
  readonly #slots = new Map<string, Slot>();
  readonly #progress: Lane;
  readonly #status: Lane;
  readonly #max: number;
  readonly #timers: CoalescerOptions['timers'];
  readonly #emit: (routed: Routed) => void;

  constructor(options: CoalescerOptions) {
    const lane = (perSecond: number | false): Lane => ({ intervalMs: intervalOf(perSecond), waiting: new Set(), timer: null });
    this.#progress = lane(options.progressPerSecond ?? COALESCER_DEFAULTS.progressPerSecond);
    this.#status = lane(options.statusPerSecond ?? COALESCER_DEFAULTS.statusPerSecond);
    this.#max = options.maxTracked ?? COALESCER_DEFAULTS.maxTracked;
    this.#timers = options.timers;
    this.#emit = options.emit;
  }

  /** Values waiting for their slot (for tests and metrics). */
  get pending(): number {
    return this.#progress.waiting.size + this.#status.waiting.size;
  }

  /** Returns true when the event went out at once, false when it waits (and may be superseded). */
  push(routed: Routed): boolean {
    const { event } = routed;
    if (event.type === 'queue_status_changed') return this.#rateLimited(`q\n${event.status.queue}`, routed, this.#status);
    if (event.type === 'system_notification' || event.type === 'user_notification') {
      this.#emit(routed);
      return true;
    }
    const key = `t\n${event.task.queue}\n${event.task.task_id}`;
    if (event.task.status === 'progress') return this.#rateLimited(key, routed, this.#progress);
    const slot = this.#slots.get(key);
    if (slot) {
      this.#flush(slot);
      if (event.type === 'task_completed' || event.type === 'task_failed') this.#forget(slot);
    }
    this.#emit(routed);
    return true;
  }

  /** Sends every pending value now (before shutting down). */
  flushAll(): void {
    for (const lane of [this.#progress, this.#status]) for (const slot of [...lane.waiting]) this.#flush(slot);
  }

  close(): void {
    this.flushAll();
    for (const slot of [...this.#slots.values()]) this.#forget(slot);
  }

  #rateLimited(key: string, routed: Routed, lane: Lane): boolean {
    if (lane.intervalMs === 0) {
      this.#emit(routed);
      return true;
    }
    const now = this.#timers.now();
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = { key, lane, lastSent: -Infinity, pending: null };
      this.#track(slot);
    }
    if (slot.pending === null && now - slot.lastSent >= lane.intervalMs) {
      slot.lastSent = now;
      this.#emit(routed);
      return true;
    }
    slot.pending = routed;
    lane.waiting.add(slot);
    if (lane.timer === null) this.#arm(lane, now);
    return false;
  }

  /** Sets the lane's timer for its earliest waiting value; clamped, so a clock stepped backwards waits one interval at most. */
  #arm(lane: Lane, now: number): void {
    let due = Infinity;
    for (const slot of lane.waiting) due = Math.min(due, slot.lastSent + lane.intervalMs);
    if (due === Infinity) return;
    lane.timer = this.#timers.setTimeout(() => this.#tick(lane), Math.min(lane.intervalMs, Math.max(0, due - now)));
  }

  #tick(lane: Lane): void {
    lane.timer = null;
    const now = this.#timers.now();
    for (const slot of [...lane.waiting]) {
      // A clock stepped backwards (lastSent in the future) counts as due: a value never waits more than an interval for it.
      if (slot.lastSent > now) this.#flush(slot, now);
      // On the slot's own grid: a timer that fired late (a busy event loop) does not push every later send back by
      // its lateness, which would cut the rate (and add latency) just when the server is loaded. Never further back
      // than half an interval, so a long stall is not followed by a burst.
      else if (now - slot.lastSent >= lane.intervalMs) this.#flush(slot, Math.max(slot.lastSent + lane.intervalMs, now - lane.intervalMs / 2));
    }
    if (lane.waiting.size > 0) this.#arm(lane, now);
  }

  #track(slot: Slot): void {
    if (this.#slots.size >= this.#max) {
      const oldest: Slot = this.#slots.values().next().value!;
      this.#flush(oldest);
      this.#forget(oldest);
    }
    this.#slots.set(slot.key, slot);
  }

  /** Sends the slot's pending value; `sentAt` is the send time its rate counts from (default now). */
  #flush(slot: Slot, sentAt = this.#timers.now()): void {
    const pending = slot.pending;
    if (pending === null) return;
    slot.pending = null;
    slot.lastSent = sentAt;
    this.#leave(slot);
    this.#emit(pending);
  }

  #forget(slot: Slot): void {
    this.#leave(slot);
    this.#slots.delete(slot.key);
  }

  /** Takes the slot off its lane's waiting list; the lane's timer stops when nothing waits. */
  #leave(slot: Slot): void {
    const lane = slot.lane;
    if (!lane.waiting.delete(slot) || lane.waiting.size > 0 || lane.timer === null) return;
    this.#timers.clearTimeout(lane.timer);
    lane.timer = null;
  }
}
