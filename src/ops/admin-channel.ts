/**
 * The admin channel (`tether:admin`) that feeds the dashboard. Joining needs the admin token; when access is
 * open (a loopback-only server with no admin token) a same-origin page (the dashboard this server served) or
 * a client without an Origin (a local tool, not a browser) may join without one, but never a page of another
 * origin, even one the socket's origin check lets in (a dev server on another loopback port). Each join first gets a `snapshot` push with the recent
 * history, then one `sample` push per interval. Pushes go to this node's admin sockets only, so with a shared
 * broker each dashboard shows the node it is connected to.
 *
 * With a tasks source (`setTasks`, wired by `tether serve --tasks`), each join also gets `tasks_snapshot` and each
 * interval a `tasks` push: the Tasks view is fed here, behind the admin token, rather than by the page joining
 * task topics itself (see docs/tasks.md, "In the dashboard").
 */
import { error, ok, type ChannelDefinition, type ChannelSocket } from '../server/channel.ts';
import { systemClock, type Clock } from '../server/clock.ts';
import { tokenMatches } from '../server/token-check.ts';
import { ADMIN_TOPIC, type AdminEvents, type NodeInfo, type RecentEvent, type Sample, type TaskCounters, type TasksPicture, type TopicRow, type WorkerInfo } from '../dashboard/feed.ts';
import type { Sampler } from './sampler.ts';

/** Who may join the admin channel: anyone (`open`), or whoever presents `token` as the `admin_token` param. */
export type AdminAccess = { open: true } | { open: false; token: string };

export interface AdminFeedOptions {
  sampler: Sampler;
  access: AdminAccess;
  /** Read at each join, so it can reflect the port chosen at listen time. */
  info: () => NodeInfo;
  /** With `tether serve --workers`: the machine's workers, pushed with every sample. */
  workers?: () => WorkerInfo[];
  /** Default 1000. */
  intervalMs?: number;
  /**
   * Tasks-view counter samples kept for a dashboard that joins later (one per interval, the oldest dropped first).
   * Default 300 (five minutes at 1 Hz); `tether serve --tasks-history-size`.
   */
  tasksHistorySize?: number;
  clock?: Clock;
  onError?: (err: Error) => void;
}

export const ADMIN_FEED_DEFAULTS = { tasksHistorySize: 300 } as const;

/** Where the Tasks view's picture comes from: one bounded look per interval. */
export interface TasksSource {
  look(): Promise<Omit<TasksPicture, 't'>>;
}

/** The admin token, or (open access only) a same-origin page or a non-browser client. */
export function adminMayJoin(access: AdminAccess, token: unknown, socket: Pick<ChannelSocket, 'origin' | 'sameOrigin'>): boolean {
  if (!access.open) return tokenMatches(access.token, token);
  return socket.origin === null || socket.sameOrigin;
}

export class AdminFeed {
  readonly channel: ChannelDefinition;
  readonly #sockets = new Set<ChannelSocket>();
  readonly #options: AdminFeedOptions;
  readonly #clock: Clock;
  #timer: unknown = null;
  #busy = false;
  #tasks: TasksSource | null = null;
  readonly #taskHistory: TaskCounters[] = [];
  #taskLatest: TasksPicture | null = null;

  constructor(options: AdminFeedOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    const { access, sampler, info } = options;
    this.channel = {
      join: (_topic, params, socket) => (adminMayJoin(access, params.admin_token, socket) ? ok() : error({ reason: 'unauthorized' })),
      // A push rather than the join reply, so every rejoin after a reconnect refills the page too.
      afterJoin: (socket) => {
        const snapshot: AdminEvents['snapshot'] = { info: info(), history: sampler.history, recent: sampler.recent, topics: sampler.topicRows() };
        socket.push('snapshot', snapshot);
        if (this.#tasks) socket.push('tasks_snapshot', { history: this.#taskHistory, latest: this.#taskLatest });
        this.#sockets.add(socket);
      },
      handleIn: (event) => error({ reason: `the admin channel takes no "${event}" event` }),
      terminate: (_reason, socket) => {
        this.#sockets.delete(socket);
      },
    };
  }

  get subscribers(): number {
    return this.#sockets.size;
  }

  /** Turns the Tasks view on (a source) or off (null). */
  setTasks(source: TasksSource | null): void {
    this.#tasks = source;
    this.#taskHistory.length = 0;
    this.#taskLatest = null;
  }

  start(): void {
    this.#timer ??= this.#clock.setInterval(() => void this.tick(), this.#options.intervalMs ?? 1000);
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Samples once and pushes the result to every admin socket on this node. */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const { sample, events } = await this.#options.sampler.sample();
      const tasks = await this.#lookAtTasks(sample.t);
      if (this.#sockets.size === 0) return;
      const payload: AdminEvents['sample'] = { sample, events, topics: this.#options.sampler.topicRows() };
      if (this.#options.workers) payload.workers = this.#options.workers();
      for (const socket of this.#sockets) {
        socket.push('sample', payload);
        if (tasks) socket.push('tasks', tasks);
      }
    } catch (err) {
      this.#options.onError?.(err as Error);
    } finally {
      this.#busy = false;
    }
  }

  /** One look at the task queues (null without a source or when the look fails: the sample still goes out). */
  async #lookAtTasks(t: number): Promise<TasksPicture | null> {
    const source = this.#tasks;
    if (!source) return null;
    try {
      const picture: TasksPicture = { t, ...(await source.look()) };
      if (source !== this.#tasks) return null;
      this.#taskLatest = picture;
      this.#taskHistory.push({ t, queues: picture.queues });
      const limit = this.#options.tasksHistorySize ?? ADMIN_FEED_DEFAULTS.tasksHistorySize;
      while (this.#taskHistory.length > limit) this.#taskHistory.shift();
      return picture;
    } catch (err) {
      this.#options.onError?.(err as Error);
      return null;
    }
  }
}
