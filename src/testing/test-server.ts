/**
 * An in-process Tether server for an app's own tests: the real server on a free loopback port, plus hooks to
 * see what it received, push and broadcast from the test, close one connection with a chosen code, crash a
 * channel, and refuse the next joins or connects. Built on createServer's public options and observer.
 */
import type { Frame, Payload } from '../protocol/frame.ts';
import type { ChannelDefinition, ChannelSocket, LeaveReason } from '../server/channel.ts';
import { ChannelInstance } from '../server/channel-instance.ts';
import type { Clock } from '../server/clock.ts';
import type { ConnectHook, ServerOptions } from '../server/options.ts';
import { createServer, type TetherServer } from '../server/server.ts';
import { error as errorReply } from '../server/channel.ts';
import { pushBounded } from './bounded-list.ts';
import { notifyChange, waitFor, type WaitOptions } from './wait.ts';

/** Where a kit object registers its teardown: node:test's `t` (its `after`), or `{ after: onTestFinished }` in vitest. */
export interface TestCleanup {
  after(fn: () => unknown): void;
}

export interface TestServerOptions extends Omit<ServerOptions, 'port' | 'host' | 'httpServer'> {
  /** Default 0 (a free port); give the old port to restart a server where clients expect it. Always on 127.0.0.1. */
  port?: number;
  /** Frames kept in `frames` (the oldest are dropped beyond, counted in `droppedFrames`). Default 10000. */
  maxRecordedFrames?: number;
}

export const TEST_SERVER_DEFAULTS = { maxRecordedFrames: 10_000, maxRecordedEvents: 1000 } as const;

export interface ReceivedFrame {
  connectionId: string;
  frame: Frame;
}

export interface FrameFilter {
  connectionId?: string;
  topic?: string;
  event?: string;
}

export interface TestConnection {
  readonly id: string;
  readonly vsn: 1 | 2;
  /** Topics this connection has joined and not left. */
  readonly topics: ReadonlySet<string>;
}

export interface ClosedConnection {
  id: string;
  code: number;
  reason: string;
}

/** What a refused join answers, unless `refuseJoins` is given another reason. */
export const REFUSED_BY_TEST = 'refused by test';

const matches = (r: ReceivedFrame, f: FrameFilter) =>
  (f.connectionId === undefined || r.connectionId === f.connectionId) && (f.topic === undefined || r.frame.topic === f.topic) && (f.event === undefined || r.frame.event === f.event);

export class TestServer {
  /** The real server underneath (its `observe`, `presence`, `broker`, `topics()` are all there). */
  readonly server: TetherServer;
  readonly clock: Clock | undefined;
  /** Every frame clients sent, oldest first, at most `maxRecordedFrames`. */
  readonly frames: ReceivedFrame[] = [];
  /** Connections closed so far, with the code and reason the server saw (bounded to the last 1000). */
  readonly closed: ClosedConnection[] = [];
  /** Errors the server reported (crashed handlers, broker failures), the last 1000. */
  readonly errors: { error: Error; context: string }[] = [];
  readonly #connections = new Map<string, { id: string; vsn: 1 | 2; topics: Set<string> }>();
  /** Joined channel handles, by connection id then topic: what `push` and `crashChannel` act on. */
  readonly #sockets = new Map<string, Map<string, ChannelSocket>>();
  readonly #maxFrames: number;
  #refusedJoins: { left: number; reason: string; topic: string | undefined } = { left: 0, reason: REFUSED_BY_TEST, topic: undefined };
  #refusedConnects = 0;
  #port = 0;
  #url = '';
  #droppedFrames = 0;

  constructor(options: TestServerOptions) {
    const { maxRecordedFrames = TEST_SERVER_DEFAULTS.maxRecordedFrames, port = 0, channels, connect, ...rest } = options;
    this.clock = options.clock;
    this.#maxFrames = maxRecordedFrames;
    this.#port = port;
    this.server = createServer({ ...rest, port, host: '127.0.0.1', channels: this.#wrapChannels(channels), connect: this.#wrapConnect(connect) });
    this.#observe();
  }

  async listen(): Promise<this> {
    ({ port: this.#port, url: this.#url } = await this.server.listen());
    return this;
  }

  /** Frames dropped from `frames` because more than `maxRecordedFrames` came. */
  get droppedFrames(): number {
    return this.#droppedFrames;
  }

  get port(): number {
    return this.#port;
  }

  /** `ws://127.0.0.1:PORT/socket` (with the `mount` option's path): what a Phoenix or Tether client takes. */
  get url(): string {
    return this.#url;
  }

  /** Open connections, by id. */
  get connections(): ReadonlyMap<string, TestConnection> {
    return this.#connections;
  }

  /** Ids of the open connections, oldest first. */
  connectionIds(): string[] {
    return [...this.#connections.keys()];
  }

  /** Recorded frames that match (topic, event, connection), oldest first. */
  received(filter: FrameFilter = {}): Frame[] {
    return this.frames.filter((r) => matches(r, filter)).map((r) => r.frame);
  }

  /** Forgets the recorded frames, so the next waits see only what comes after. */
  clearFrames(): void {
    this.frames.length = 0;
  }

  /** Resolves with the first recorded frame that matches, waiting for it if none has come yet. */
  waitForFrame(filter: FrameFilter, options: WaitOptions = {}): Promise<Frame> {
    const what = options.what ?? `a frame ${JSON.stringify(filter)}`;
    return waitFor(() => this.frames.find((r) => matches(r, filter))?.frame, { ...options, what });
  }

  /** `waitFor` from this kit: re-checks after every event the server, clients and links report. */
  waitFor<T>(condition: () => T | null | undefined | false, options: WaitOptions | string = {}): Promise<T> {
    return waitFor(condition, options);
  }

  /** Sends an event to the clients joined to `topic` (or only to one connection's); returns how many got it. */
  push(topic: string, event: string, payload: Payload, options: { connectionId?: string } = {}): number {
    const targets = this.#joined(topic, options.connectionId);
    for (const socket of targets) socket.push(event, payload);
    return targets.length;
  }

  /** Broadcasts through the broker, exactly as a channel's `broadcast` does (history included). */
  broadcast(topic: string, event: string, payload: Payload): void {
    this.server.broadcast(topic, event, payload);
  }

  /** Closes one connection with this close code (4000-4999 for the app's own); throws when it is not open. */
  closeConnection(connectionId: string, code: number, reason = 'closed by test'): void {
    if (!this.server.closeConnection(connectionId, code, reason)) throw new Error(`no open connection ${connectionId} (open: ${this.connectionIds().join(', ') || 'none'})`);
  }

  /**
   * Crashes the channel on `topic` (of every joined client, or one connection) as a throwing handler would:
   * the client gets phx_error, `terminate` runs with 'crash'. Returns how many channels crashed.
   */
  crashChannel(topic: string, options: { connectionId?: string } = {}): number {
    const targets = this.#joined(topic, options.connectionId);
    for (const socket of targets) {
      if (!(socket instanceof ChannelInstance)) throw new Error(`cannot crash ${topic}: not a server channel instance`);
      socket.crash(new Error(`channel ${topic} crashed by the test`), 'crashChannel');
    }
    return targets.length;
  }

  /** The next `count` joins (of `topic` only, when given) are refused with `{reason}`. */
  refuseJoins(count: number, options: { reason?: string; topic?: string } = {}): void {
    this.#refusedJoins = { left: count, reason: options.reason ?? REFUSED_BY_TEST, topic: options.topic };
  }

  /** The next `count` WebSocket upgrades are refused with HTTP 403, as a connect hook returning false does. */
  refuseConnects(count: number): void {
    this.#refusedConnects = count;
  }

  /** Stops the server (drain with 1012, then close). */
  async close(): Promise<void> {
    const closing = this.server.close();
    const advance = (this.clock as { advance?: (ms: number) => void } | undefined)?.advance;
    if (advance === undefined) return closing;
    // On a virtual clock the drain's timeout never fires by itself: after a real grace, let virtual time pass.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 2000)));
    if ((await Promise.race([closing, late])) === 'late') advance.call(this.clock, 60_000);
    clearTimeout(timer);
    return closing;
  }

  #joined(topic: string, connectionId: string | undefined): ChannelSocket[] {
    const out: ChannelSocket[] = [];
    for (const [id, topics] of this.#sockets) {
      if (connectionId !== undefined && id !== connectionId) continue;
      const socket = topics.get(topic);
      if (socket !== undefined) out.push(socket);
    }
    return out;
  }

  /** Wraps each channel definition to know its joined sockets and to refuse joins on demand. */
  #wrapChannels(channels: Readonly<Record<string, ChannelDefinition>>): Record<string, ChannelDefinition> {
    const wrapped: Record<string, ChannelDefinition> = Object.create(null);
    for (const [pattern, def] of Object.entries(channels)) {
      wrapped[pattern] = {
        ...def,
        join: (topic, params, socket) => {
          const refusal = this.#refusedJoins;
          if (refusal.left > 0 && (refusal.topic === undefined || refusal.topic === topic)) {
            refusal.left--;
            return errorReply({ reason: refusal.reason });
          }
          return def.join(topic, params, socket);
        },
        afterJoin: (socket) => {
          let topics = this.#sockets.get(socket.connectionId);
          if (topics === undefined) this.#sockets.set(socket.connectionId, (topics = new Map()));
          topics.set(socket.topic, socket);
          return def.afterJoin?.(socket);
        },
        terminate: (reason: LeaveReason, socket) => {
          const topics = this.#sockets.get(socket.connectionId);
          if (topics?.get(socket.topic) === socket) topics.delete(socket.topic);
          if (topics?.size === 0) this.#sockets.delete(socket.connectionId);
          def.terminate?.(reason, socket);
        },
      };
    }
    return wrapped;
  }

  /** Wraps the connect hook to refuse upgrades on demand. */
  #wrapConnect(connect: ConnectHook | undefined): ConnectHook {
    return (info) => {
      if (this.#refusedConnects > 0) {
        this.#refusedConnects--;
        return false;
      }
      return connect === undefined ? true : connect(info);
    };
  }

  /** Records what the server reports and tells waiting conditions to look again. */
  #observe(): void {
    const limit = TEST_SERVER_DEFAULTS.maxRecordedEvents;
    this.server.observe({
      frameReceived: ({ connectionId, frame }) => {
        if (pushBounded(this.frames, { connectionId, frame }, this.#maxFrames)) this.#droppedFrames++;
        notifyChange(`server got ${frame.event} on ${frame.topic} from ${connectionId}`);
      },
      frameOut: () => notifyChange(),
      connectionOpened: ({ id, vsn }) => {
        this.#connections.set(id, { id, vsn, topics: new Set() });
        notifyChange(`server opened ${id}`);
      },
      connectionClosed: ({ id, code, reason }) => {
        this.#connections.delete(id);
        this.#sockets.delete(id);
        pushBounded(this.closed, { id, code, reason }, limit);
        notifyChange(`server closed ${id} (${code}${reason ? ` ${reason}` : ''})`);
      },
      connectionRejected: ({ status, reason }) => notifyChange(`server refused an upgrade (${status} ${reason})`),
      channelJoined: ({ connectionId, topic }) => {
        this.#connections.get(connectionId)?.topics.add(topic);
        notifyChange(`${connectionId} joined ${topic}`);
      },
      joinRejected: ({ connectionId, topic, reason }) => notifyChange(`${connectionId} refused ${topic} (${reason})`),
      channelLeft: ({ connectionId, topic, reason }) => {
        this.#connections.get(connectionId)?.topics.delete(topic);
        notifyChange(`${connectionId} left ${topic} (${reason})`);
      },
      error: (error, context) => {
        pushBounded(this.errors, { error, context }, limit);
        notifyChange(`server error in ${context}: ${error.message}`);
      },
    });
  }
}

/**
 * Starts a Tether server on 127.0.0.1 and a free port with these channels (any createServer option works,
 * `clock` included). With `t`, it is closed when the test ends.
 */
export async function createTestServer(options: TestServerOptions, t?: TestCleanup): Promise<TestServer> {
  const kit = new TestServer(options);
  await kit.listen();
  t?.after(() => kit.close());
  return kit;
}
