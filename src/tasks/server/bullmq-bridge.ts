/**
 * The BullMQ bridge: every node reads each queue's QueueEvents, and exactly one node (the queue's leader, holding
 * a Redis lease) forwards them to the TaskHub, so each event reaches each subscriber once however many nodes run
 * the bridge. Followers keep the recent events; a follower that takes the lease over (the leader died) forwards
 * those after the leader's last recorded position, so a failover loses nothing it buffered (it may repeat what
 * the old leader sent after its last cursor write: at most `cursorFlushMs` worth). The leader also polls the
 * queue's counters and publishes them when they change. BullMQ is loaded only when a bridge starts.
 */
import { createClient } from 'redis';
import { LuaScript } from '../../broker/redis-scripts.ts';
import { systemClock, type Clock } from '../../server/clock.ts';
import { QUEUE_NAME, type QueueStatus, type TaskEvent, type TaskSnapshot } from '../types.ts';
import { BULLMQ_EVENTS, streamIdAfter, taskEventOfBullMQ, type BullMQEventArgs, type BullMQEventName } from './bullmq-events.ts';
import type { TaskHub } from './hub.ts';
import { taskKey } from './snapshots-redis.ts';

export interface BullMQBridgeOptions {
  hub: TaskHub;
  queues: readonly string[];
  /** BullMQ's Redis, `redis://` or `rediss://`. */
  redisUrl: string;
  /** BullMQ's key prefix. Default 'bull'. */
  bullPrefix?: string;
  /** Prefix of the bridge's own keys (lease, cursor): the broker's. Default 'tether:'. */
  keyPrefix?: string;
  /** This node in the lease; unique among live nodes (the broker's node id). */
  nodeId: string;
  /** How long a leader's lease lasts without renewal (renewed every third of it). Default 6000. */
  leaseMs?: number;
  /** How often the leader writes the position of the last event it forwarded. Default 200. */
  cursorFlushMs?: number;
  /** How often the leader reads the queue's counters. Default 1000. */
  statusIntervalMs?: number;
  /** Events a follower keeps for a takeover, per queue. Default 10000. */
  bufferEvents?: number;
  /** Jobs whose last progress is remembered (for the final value on completed / failed), per queue. Default 10000. */
  maxTrackedJobs?: number;
  clock?: Clock;
  onError?: (err: Error, context: string) => void;
}

export const BRIDGE_DEFAULTS = { bullPrefix: 'bull', leaseMs: 6000, cursorFlushMs: 200, statusIntervalMs: 1000, bufferEvents: 10_000, maxTrackedJobs: 10_000 } as const;

/** KEYS: lease. ARGV: node, ttl. 1 = acquired, 2 = renewed, 0 = held by another node. */
const LEASE = new LuaScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 2 end
return 0`);
const RELEASE = new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

interface Buffered {
  id: string;
  /** The task event, converted when it arrived (null: nothing to forward, only the position moves). */
  event: TaskEvent | null;
}

interface Closable {
  close(): Promise<unknown>;
}

interface QueueState {
  name: string;
  leader: boolean;
  buffer: Buffered[];
  /** Stream id of the last event forwarded, and whether it has been written since. */
  cursor: string | null;
  cursorDirty: boolean;
  progress: Map<string, number>;
  lastCounts: string;
  events: Closable | null;
  queue: (Closable & { getJobCounts(...types: string[]): Promise<Record<string, number>> }) | null;
}

/** BullMQ's connection options from a Redis URL. */
export function bullConnection(url: string): Record<string, unknown> {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

export class BullMQBridge {
  readonly #o: Required<Omit<BullMQBridgeOptions, 'onError' | 'clock'>> & { clock: Clock; onError: (err: Error, context: string) => void };
  readonly #queues = new Map<string, QueueState>();
  readonly #redis;
  #timers: unknown[] = [];
  #closed = false;

  constructor(options: BullMQBridgeOptions) {
    for (const q of options.queues) if (!QUEUE_NAME.test(q)) throw new TypeError(`bad queue name "${q}": 1-100 characters of A-Z a-z 0-9 . _ -`);
    this.#o = { ...BRIDGE_DEFAULTS, keyPrefix: 'tether:', clock: systemClock, onError: () => {}, ...options };
    this.#redis = createClient({ url: options.redisUrl });
    this.#redis.on('error', (err: Error) => this.#o.onError(err, 'bridge redis'));
  }

  /** Whether this node currently forwards the queue's events. */
  isLeader(queue: string): boolean {
    return this.#queues.get(queue)?.leader ?? false;
  }

  /** Connects, reads every queue's events and takes part in the lease; on failure everything opened is closed. */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async #start(): Promise<void> {
    let bullmq: typeof import('bullmq');
    try {
      bullmq = await import('bullmq');
    } catch {
      throw new Error('the BullMQ bridge needs the optional peer dependencies bullmq and ioredis: npm install bullmq ioredis');
    }
    await this.#redis.connect();
    const connection = bullConnection(this.#o.redisUrl);
    for (const name of this.#o.queues) {
      const state: QueueState = { name, leader: false, buffer: [], cursor: null, cursorDirty: false, progress: new Map(), lastCounts: '', events: null, queue: null };
      this.#queues.set(name, state);
      // From the stream's current end, read now: '$' would be taken at the first read and miss what comes between.
      const last = await this.#redis.sendCommand<string[][]>(['XREVRANGE', `${this.#o.bullPrefix}:${name}:events`, '+', '-', 'COUNT', '1']);
      const lastEventId = last[0]?.[0] ?? '0-0';
      const events = new bullmq.QueueEvents(name, { connection, prefix: this.#o.bullPrefix, autorun: false, lastEventId });
      for (const kind of BULLMQ_EVENTS) {
        events.on(kind, ((args: BullMQEventArgs, id: string) => this.#onEvent(state, kind, args, id)) as never);
      }
      events.on('error', (err: Error) => this.#o.onError(err, `queue events ${name}`));
      state.events = events;
      state.queue = new bullmq.Queue(name, { connection, prefix: this.#o.bullPrefix }) as unknown as QueueState['queue'];
      events.run().catch((err: unknown) => this.#o.onError(err as Error, `queue events ${name}`));
      await events.waitUntilReady();
    }
    await this.#renewLeases();
    const { clock } = this.#o;
    this.#timers = [
      clock.setInterval(() => void this.#renewLeases(), Math.max(1, Math.floor(this.#o.leaseMs / 3))),
      clock.setInterval(() => void this.#flushCursors(), this.#o.cursorFlushMs),
      clock.setInterval(() => void this.#publishCounts(), this.#o.statusIntervalMs),
    ];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) this.#o.clock.clearInterval(t);
    // Stop forwarding first, so the cursor written next is the last event this node sent.
    const led = [...this.#queues.values()].filter((state) => state.leader);
    for (const state of led) state.leader = false;
    if (this.#redis.isOpen) await this.#flushCursors();
    for (const state of this.#queues.values()) {
      await state.events?.close().catch(() => {});
      await state.queue?.close().catch(() => {});
      if (led.includes(state)) await RELEASE.run(this.#redis, [this.#key(state.name, 'leader')], [this.#o.nodeId]).catch(() => {});
    }
    if (this.#redis.isOpen) await this.#redis.close().catch(() => {});
  }

  #key(queue: string, item: string): string {
    return taskKey(this.#o.keyPrefix, queue, item);
  }

  #onEvent(state: QueueState, name: BullMQEventName, args: BullMQEventArgs, id: string): void {
    try {
      const jobId = String(args.jobId);
      // Converted once; stamped with the time BullMQ recorded it (the stream id's ms), so a snapshot names the
      // event it came from and a takeover can tell what the dead leader already forwarded (#unsent).
      const event = taskEventOfBullMQ(state.name, name, args, name === 'progress' ? undefined : state.progress.get(jobId));
      if (event !== null && 'task' in event) event.task.timestamp = streamMillis(id) ?? this.#o.clock.now();
      if (name === 'progress' && event !== null && 'task' in event && event.task.progress !== undefined) {
        state.progress.delete(jobId);
        state.progress.set(jobId, event.task.progress);
        if (state.progress.size > this.#o.maxTrackedJobs) state.progress.delete(state.progress.keys().next().value!);
      }
      if (state.leader) {
        this.#forward(state, { id, event });
      } else {
        state.buffer.push({ id, event });
        if (state.buffer.length > this.#o.bufferEvents * 2) state.buffer = state.buffer.slice(-this.#o.bufferEvents);
      }
      if (name === 'completed' || name === 'failed') state.progress.delete(jobId);
    } catch (err) {
      this.#o.onError(err as Error, `queue event ${state.name} ${name}`);
    }
  }

  #forward(state: QueueState, { id, event }: Buffered): void {
    state.cursor = id;
    state.cursorDirty = true;
    if (event === null) return;
    this.#o.hub.publish(event).then(
      (result) => {
        if (!result.ok) this.#o.onError(new Error(result.error), `publish ${state.name} ${event.type}`);
      },
      () => {},
    );
  }

  async #renewLeases(): Promise<void> {
    for (const state of this.#queues.values()) {
      try {
        const answer = await LEASE.run<number>(this.#redis, [this.#key(state.name, 'leader')], [this.#o.nodeId, String(this.#o.leaseMs)]);
        if (answer === 1 && !state.leader) await this.#takeOver(state);
        else if (answer === 0 && state.leader) state.leader = false;
      } catch (err) {
        // Unable to renew: stop forwarding rather than risk two leaders.
        state.leader = false;
        this.#o.onError(err as Error, `lease ${state.name}`);
      }
    }
  }

  /**
   * Forwards what the buffer holds after the last leader's recorded position, then goes live. Of those events, a
   * task's are skipped up to the one its snapshot shows: the dead leader's hub had already broadcast them (it
   * issues the broadcasts before the snapshot write), so watchers do not see them twice.
   */
  async #takeOver(state: QueueState): Promise<void> {
    const cursor = await this.#redis.get(this.#key(state.name, 'cursor'));
    const pending = state.buffer.filter((e) => cursor === null || streamIdAfter(e.id, cursor));
    state.buffer = [];
    const sent = await this.#unsent(state, pending);
    for (const e of pending) this.#forward(state, sent.has(e) ? { id: e.id, event: null } : e);
    state.leader = true;
    // Events that arrived while the cursor and snapshots were read are in the new buffer: forward them too, in order.
    const late = state.buffer;
    state.buffer = [];
    for (const e of late) this.#forward(state, e);
  }

  /** The replayed events the snapshots show as forwarded already: per task, up to the last equal to its snapshot. */
  async #unsent(state: QueueState, replay: readonly Buffered[]): Promise<Set<Buffered>> {
    const byTask = new Map<string, Buffered[]>();
    for (const e of replay) {
      if (e.event === null || !('task' in e.event)) continue;
      const list = byTask.get(e.event.task.task_id);
      if (list) list.push(e);
      else byTask.set(e.event.task.task_id, [e]);
    }
    const sent = new Set<Buffered>();
    const ids = [...byTask.keys()];
    const snapshots = await Promise.all(ids.map((id) => this.#o.hub.store.getTask(state.name, id).catch(() => null)));
    ids.forEach((id, i) => {
      const snapshot = snapshots[i];
      const events = byTask.get(id)!;
      const last = snapshot === null ? -1 : events.findLastIndex((e) => sameUpdate(e.event, snapshot));
      for (let k = 0; k <= last; k++) sent.add(events[k]);
    });
    return sent;
  }

  async #flushCursors(): Promise<void> {
    for (const state of this.#queues.values()) {
      if (!state.cursorDirty || state.cursor === null) continue;
      state.cursorDirty = false;
      await this.#redis.set(this.#key(state.name, 'cursor'), state.cursor, { PX: 86_400_000 }).catch((err: Error) => this.#o.onError(err, `cursor ${state.name}`));
    }
  }

  async #publishCounts(): Promise<void> {
    for (const state of this.#queues.values()) {
      if (!state.leader || state.queue === null) continue;
      try {
        const c = await state.queue.getJobCounts('waiting', 'delayed', 'prioritized', 'waiting-children', 'active', 'completed', 'failed');
        const pending = (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0);
        const status: QueueStatus = { queue: state.name, total_tasks: pending + (c.active ?? 0) + (c.completed ?? 0) + (c.failed ?? 0), pending_tasks: pending, running_tasks: c.active ?? 0, completed_tasks: c.completed ?? 0, failed_tasks: c.failed ?? 0 };
        const key = JSON.stringify(status);
        if (key === state.lastCounts) continue;
        state.lastCounts = key;
        await this.#o.hub.publish({ type: 'queue_status_changed', status });
      } catch (err) {
        this.#o.onError(err as Error, `counts ${state.name}`);
      }
    }
  }
}

/** The ms part of a stream id (`<ms>-<seq>`): when Redis recorded the event. */
function streamMillis(id: string): number | undefined {
  const ms = Number(id.split('-')[0]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Whether a task event is the one a snapshot was written from (same state, same recorded time). */
function sameUpdate(event: TaskEvent | null, snapshot: TaskSnapshot): boolean {
  if (event === null || !('task' in event)) return false;
  const t = event.task;
  return t.status === snapshot.status && t.progress === snapshot.progress && t.message === snapshot.message && t.timestamp === snapshot.timestamp;
}
