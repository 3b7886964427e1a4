/**
 * TaskHub: the server side of live task queues, for any queue system. `publish(event)` validates an event, keeps
 * the task's snapshot, coalesces progress (coalescer.ts) and broadcasts it on the topics that carry it:
 *   task event      -> `tasks:<queue>`, `task:<queue>:<id>`, `events:<type>`
 *   queue counters  -> `queue:<name>`, `tasks:<queue>`, `events:queue_status_changed`
 *   system notice   -> `system`, `events:system_notification`
 *   user notice     -> `user:<id>` only
 * Every call answers how many subscribers it reached (see `PublishResult`).
 */
import type { BroadcastResult, ChannelDefinition } from '../../server/channel.ts';
import { systemClock, type Clock } from '../../server/clock.ts';
import type { ServerObserver } from '../../server/observer.ts';
import type { Payload } from '../../protocol/frame.ts';
import { parseTaskEvent } from '../schema.ts';
import { topics, type Notification, type TaskEvent, type TaskEventType } from '../types.ts';
import { taskChannels, json, type TaskAuthorizer } from './channels.ts';
import { Coalescer, type CoalescerOptions, type Routed } from './coalescer.ts';
import { MemorySnapshotStore, type SnapshotStore } from './snapshots.ts';

/** What the hub needs of a server: `TetherServer` satisfies it. */
export interface TaskHubServer {
  broadcast(topic: string, event: string, payload: Payload): Promise<BroadcastResult>;
  observe(observer: ServerObserver): () => void;
}

export interface TaskHubOptions {
  /** Where snapshots live. Default a MemorySnapshotStore (one node); use RedisSnapshotStore for many. */
  store?: SnapshotStore;
  /** Progress events per task per second (latest wins); false: no coalescing. Default 10. */
  progressPerSecond?: number | false;
  /** Queue counter events per queue per second (latest wins); false: no coalescing. Default 10. */
  statusPerSecond?: number | false;
  /** Tasks and queues whose rate is tracked at once (coalescer.ts). Default 10000. */
  maxTracked?: number;
  /** Extra access check on every task topic, after the built-in ones (`user:<id>` only for that user). */
  authorize?: TaskAuthorizer;
  clock?: Clock;
  /**
   * Subscriber counts of the other nodes (`RedisSubscriberCensus`), so `reached` counts the cluster; started by
   * `attach`, closed by `close`. Without it `reached` counts this node only.
   */
  census?: SubscriberCensus;
  /** Failures of the store or a broadcast; default: ignored. */
  onError?: (err: Error, context: string) => void;
}

/** What the hub needs of a census of the other nodes' subscribers. */
export interface SubscriberCensus {
  start(local: () => ReadonlyMap<string, number>): Promise<void>;
  remote(topic: string): number;
  close(): Promise<void>;
}

/**
 * `reached`: subscribers of the event's topics at the time of the call, on this node plus, with a `census`, the
 * other nodes as of its last round (a coalesced progress value
 * reaches them when its slot comes); `delivered: false` when the value waits in the coalescer.
 */
export type PublishResult = { ok: true; reached: number; delivered: boolean } | { ok: false; error: string };

const TASK_PATTERNS = new Set(['tasks:*', 'task:*', 'queue:*', 'user:*', 'events:*', topics.system]);

const MAX_NOTED_QUEUES = 50;

export class TaskHub {
  readonly channels: Record<string, ChannelDefinition>;
  readonly store: SnapshotStore;
  readonly #coalescer: Coalescer;
  readonly #subscribers = new Map<string, number>();
  readonly #onError: (err: Error, context: string) => void;
  readonly #census: SubscriberCensus | undefined;
  readonly #queues = new Set<string>();
  readonly #clock: Clock;
  #server: TaskHubServer | null = null;
  #detach: (() => void) | null = null;

  constructor(options: TaskHubOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#onError = options.onError ?? (() => {});
    this.#census = options.census;
    this.store = options.store ?? new MemorySnapshotStore({ now: () => clock.now() });
    this.channels = taskChannels({ store: this.store, authorize: options.authorize, onError: this.#onError });
    const coalescing: CoalescerOptions = {
      progressPerSecond: options.progressPerSecond,
      statusPerSecond: options.statusPerSecond,
      maxTracked: options.maxTracked,
      timers: clock,
      emit: (routed) => this.#deliver(routed),
    };
    this.#coalescer = new Coalescer(coalescing);
  }

  /** Wires the hub to a server created with `hub.channels` among its channels. */
  attach(server: TaskHubServer): this {
    if (this.#server) throw new Error('TaskHub is already attached to a server');
    this.#server = server;
    this.#detach = server.observe({
      channelJoined: ({ topic, pattern }) => {
        if (TASK_PATTERNS.has(pattern)) this.#subscribers.set(topic, (this.#subscribers.get(topic) ?? 0) + 1);
      },
      channelLeft: ({ topic, pattern }) => {
        if (!TASK_PATTERNS.has(pattern)) return;
        const n = (this.#subscribers.get(topic) ?? 1) - 1;
        if (n > 0) this.#subscribers.set(topic, n);
        else this.#subscribers.delete(topic);
      },
    });
    this.#census?.start(() => this.#subscribers).catch((err: unknown) => this.#onError(err as Error, 'census start'));
    return this;
  }

  /** Queues this hub has delivered events of, oldest first (at most 50: an operator's view, not an index). */
  get queues(): ReadonlySet<string> {
    return this.#queues;
  }

  /** Subscribers of one topic: on this node, plus the other nodes' when the hub has a census. */
  subscribers(topic: string): number {
    return (this.#subscribers.get(topic) ?? 0) + (this.#census?.remote(topic) ?? 0);
  }

  /** Validates and publishes one event (from a bridge, an HTTP body, or the app). Never rejects. */
  async publish(input: TaskEvent | unknown): Promise<PublishResult> {
    const parsed = parseTaskEvent(input);
    if (!parsed.ok) return parsed;
    if (this.#server === null) return { ok: false, error: 'the hub is not attached to a server (hub.attach(server))' };
    const event = parsed.value;
    if ('task' in event) event.task.timestamp ??= this.#clock.now();
    // Computed once: `reached` counts these, and the broadcasts (now or when the coalescer's slot comes) use them.
    const carriers = topicsOf(event);
    const reached = carriers.reduce((sum, topic) => sum + this.subscribers(topic), 0);
    const delivered = this.#coalescer.push({ event, topics: carriers });
    return { ok: true, reached, delivered };
  }

  /** Sends a notification to one user (`user:<id>`). */
  notifyUser(userId: string, notification: Notification): Promise<PublishResult> {
    return this.publish({ type: 'user_notification', user_id: userId, notification });
  }

  /** Sends a notification to everyone on `system` (and `events:system_notification`). */
  notifyAll(notification: Notification): Promise<PublishResult> {
    return this.publish({ type: 'system_notification', notification });
  }

  /** Sends pending coalesced values, detaches from the server, closes the store. */
  async close(): Promise<void> {
    this.#coalescer.close();
    this.#detach?.();
    this.#detach = null;
    this.#server = null;
    await this.#census?.close();
    await this.store.close();
  }

  #noteQueue(queue: string): void {
    if (this.#queues.has(queue) || this.#queues.size >= MAX_NOTED_QUEUES) return;
    this.#queues.add(queue);
  }

  /**
   * Issues the broadcasts and the snapshot write in one synchronous step, so per-task order is publish order.
   * The broadcasts go first: a node killed between the two has sent what its snapshot does not show yet (a
   * bridge taking over repeats it), never a snapshot of an event no watcher got (which a takeover would skip).
   */
  #deliver(routed: Routed): void {
    const { event } = routed;
    const server = this.#server;
    if (server === null) return;
    let payload: object;
    if (event.type === 'queue_status_changed') payload = event.status;
    else if (event.type === 'system_notification' || event.type === 'user_notification') payload = event.notification;
    else payload = event.task;
    const wire: TaskEventType = event.type;
    for (const topic of routed.topics) {
      server.broadcast(topic, wire, json(payload)).then(
        (result) => {
          if (!result.ok) this.#onError(new Error(result.message), `broadcast ${topic}`);
        },
        () => {},
      );
    }
    let stored: Promise<void> | null = null;
    if (event.type === 'queue_status_changed') {
      this.#noteQueue(event.status.queue);
      stored = this.store.putStatus(event.status);
    } else if ('task' in event) {
      this.#noteQueue(event.task.queue);
      stored = this.store.putTask({ ...event.task, timestamp: event.task.timestamp ?? this.#clock.now() });
    }
    stored?.catch((err: unknown) => this.#onError(err as Error, `snapshot ${event.type}`));
  }
}

/** The topics that carry an event (the table at the top of this file). */
function topicsOf(event: TaskEvent): string[] {
  switch (event.type) {
    case 'queue_status_changed':
      return [topics.queue(event.status.queue), topics.tasks(event.status.queue), topics.events(event.type)];
    case 'system_notification':
      return [topics.system, topics.events(event.type)];
    case 'user_notification':
      return [topics.user(event.user_id)];
    default:
      return [topics.tasks(event.task.queue), topics.task(event.task.queue, event.task.task_id), topics.events(event.type)];
  }
}
