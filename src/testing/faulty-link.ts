/**
 * A TCP proxy that fails the way real networks do, between any WebSocket client and server: latency and jitter,
 * a bandwidth cap, a black hole, resets, half-open connections, and a timed schedule of them. `tether proxy`
 * is this module behind a command line.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { systemClock, type Clock } from '../client/clock.ts';
import { LinkConnection, type Direction, type LinkEnvironment } from './link-connection.ts';
import { formatLinkMode, parseLinkMode, parseLinkScript, PASS_THROUGH, validateLinkMode, type LinkMode, type LinkSchedule } from './link-mode.ts';
import { notifyChange } from './wait.ts';

export interface LinkTarget {
  host?: string;
  port: number;
}

export interface FaultyLinkOptions {
  /** The server: a port on 127.0.0.1, `"host:port"`, a `ws://` URL (its host and port), or `{host, port}`. */
  target: number | string | LinkTarget;
  /** Where the link listens. Default '127.0.0.1'. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The mode at start: an object or its text form (`"latency=200ms"`). Default `ok`. */
  mode?: LinkMode | string;
  /** A schedule to run from the start (see `run`). */
  script?: LinkSchedule | string;
  /**
   * Bytes one direction of one connection may hold (black-holed, delayed or rate-limited) before the link stops
   * reading that side; the sender then buffers, as over a real congested link. Default 1 MiB.
   */
  maxHeldBytes?: number;
  /** Proxied connections at once; a connection beyond gets a TCP RST. Default 1000. */
  maxConnections?: number;
  /** Time source of delays and schedules. Default the system clock; a VirtualClock makes them virtual. */
  clock?: Clock;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
}

export const FAULTY_LINK_DEFAULTS = { host: '127.0.0.1', maxHeldBytes: 1024 * 1024, maxConnections: 1000 } as const;

export interface FaultyLinkEvents {
  /** The mode changed (by `set`, `heal` or a schedule step; `step` is the step's index, null when set by hand). */
  mode: [{ mode: LinkMode; previous: LinkMode; step: number | null }];
  /** A client connected through the link. */
  connection: [{ id: number }];
  /** Both sides of a proxied connection are closed. */
  disconnect: [{ id: number }];
  /** One direction of a connection reached `maxHeldBytes`: the link stopped reading that side until it drains. */
  capped: [{ id: number; direction: Direction; bytes: number }];
  /** A connection was refused (RST) because `maxConnections` were open. */
  refused: [{ reason: string }];
  /** The schedule reached its last step, whose mode now stays in force. */
  'schedule-end': [{ mode: LinkMode }];
  /** The listening socket failed after it started (e.g. out of file descriptors while accepting); the link goes on. */
  'server-error': [{ error: Error }];
}

export interface FaultyLinkStats {
  connections: number;
  accepted: number;
  bytesUp: number;
  bytesDown: number;
  heldBytes: number;
}

function resolveTarget(target: FaultyLinkOptions['target']): Required<LinkTarget> {
  if (typeof target === 'number') return { host: '127.0.0.1', port: target };
  if (typeof target === 'string' && target.includes('://')) {
    const url = new URL(target);
    return resolveTarget(`${url.hostname}:${url.port || (url.protocol === 'wss:' || url.protocol === 'https:' ? 443 : 80)}`);
  }
  if (typeof target === 'string') {
    const i = target.lastIndexOf(':');
    const port = Number(i === -1 ? target : target.slice(i + 1));
    const host = i === -1 ? '127.0.0.1' : target.slice(0, i).replace(/^\[|\]$/g, '');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`target "${target}" is not a port or host:port`);
    return { host: host || '127.0.0.1', port };
  }
  return { host: target.host ?? '127.0.0.1', port: target.port };
}

export class FaultyLink extends EventEmitter<FaultyLinkEvents> {
  readonly host: string;
  readonly #server: Server;
  readonly #connections = new Set<LinkConnection>();
  readonly #env: LinkEnvironment;
  readonly #clock: Clock;
  readonly #maxConnections: number;
  #target: Required<LinkTarget>;
  #mode: LinkMode = PASS_THROUGH;
  #port = 0;
  #nextId = 0;
  #accepted = 0;
  #bytes = { up: 0, down: 0 };
  #scheduleTimer: unknown = null;
  #scheduleRunning = false;
  /** The `script` option's schedule, started by `listen()`. */
  #pendingScript: LinkSchedule | null = null;

  constructor(options: FaultyLinkOptions) {
    super();
    this.#target = resolveTarget(options.target);
    this.host = options.host ?? FAULTY_LINK_DEFAULTS.host;
    this.#port = options.port ?? 0;
    this.#clock = options.clock ?? systemClock;
    this.#maxConnections = options.maxConnections ?? FAULTY_LINK_DEFAULTS.maxConnections;
    const maxHeldBytes = options.maxHeldBytes ?? FAULTY_LINK_DEFAULTS.maxHeldBytes;
    if (!(Number.isInteger(maxHeldBytes) && maxHeldBytes > 0)) throw new TypeError(`maxHeldBytes must be a positive integer, got ${maxHeldBytes}`);
    if (options.mode !== undefined) this.#mode = toMode(options.mode);
    this.#env = {
      clock: this.#clock,
      random: options.random ?? Math.random,
      maxHeldBytes,
      mode: () => this.#mode,
      capped: (conn, direction, bytes) => {
        notifyChange(`link connection ${conn.id} held ${bytes} bytes ${direction}: reading paused`);
        this.emit('capped', { id: conn.id, direction, bytes });
      },
      bytes: (direction, count) => {
        this.#bytes[direction] += count;
        notifyChange();
      },
      closed: (conn) => {
        this.#connections.delete(conn);
        notifyChange(`link connection ${conn.id} closed`);
        this.emit('disconnect', { id: conn.id });
      },
    };
    this.#server = createServer({ allowHalfOpen: true }, (client) => this.#accept(client));
    if (options.script !== undefined) this.#pendingScript = typeof options.script === 'string' ? parseLinkScript(options.script) : options.script;
  }

  /** Starts listening (and the `script` option's schedule). */
  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#server.on('error', (error) => this.emit('server-error', { error }));
    if (this.#pendingScript !== null) this.run(this.#pendingScript);
    this.#pendingScript = null;
    return this;
  }

  get port(): number {
    return this.#port;
  }

  get target(): Required<LinkTarget> {
    return { ...this.#target };
  }

  /** A WebSocket URL through the link: `ws://host:port/socket` (a Phoenix client appends `/websocket`). */
  url(path = '/socket'): string {
    return `ws://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.#port}${path}`;
  }

  get mode(): LinkMode {
    return this.#mode;
  }

  /** Connections proxied now. */
  get connections(): number {
    return this.#connections.size;
  }

  /** True while a schedule has steps to come. */
  get scheduleRunning(): boolean {
    return this.#scheduleRunning;
  }

  stats(): FaultyLinkStats {
    let heldBytes = 0;
    for (const c of this.#connections) heldBytes += c.heldBytes;
    return { connections: this.#connections.size, accepted: this.#accepted, bytesUp: this.#bytes.up, bytesDown: this.#bytes.down, heldBytes };
  }

  /** Switches mode now (object or text, `"blackhole"`, `"latency=200ms~20ms"`); stops a running schedule. */
  set(mode: LinkMode | string): void {
    this.#stopSchedule();
    this.#apply(toMode(mode), null);
  }

  /** Back to plain pass-through: held bytes are delivered, connections whose peer vanished meanwhile are reset. */
  heal(): void {
    this.set(PASS_THROUGH);
  }

  /**
   * Runs a schedule (parsed or text, `"5s ok; 3s blackhole; heal"`) on the link's clock, replacing any running
   * one. Each step's mode applies when the step starts; the last one stays in force.
   */
  run(schedule: LinkSchedule | string): void {
    const parsed = typeof schedule === 'string' ? parseLinkScript(schedule) : schedule;
    if (parsed.steps.length === 0) throw new TypeError('a schedule needs at least one step');
    for (const step of parsed.steps) validateLinkMode(step.mode);
    this.#stopSchedule();
    this.#scheduleRunning = true;
    const start = (i: number) => {
      this.#scheduleTimer = null;
      const step = parsed.steps[i];
      this.#apply(step.mode, i);
      if (i === parsed.steps.length - 1) {
        this.#scheduleRunning = false;
        this.emit('schedule-end', { mode: step.mode });
        return;
      }
      this.#scheduleTimer = this.#clock.setTimeout(() => start(i + 1), step.durationMs ?? 0);
    };
    start(0);
  }

  /** New connections go to this target from now on (a load balancer moving clients to another node). */
  retarget(target: FaultyLinkOptions['target']): void {
    this.#target = resolveTarget(target);
  }

  /** Cuts every current connection with an RST on both sides, without changing the mode. */
  resetAll(): void {
    for (const conn of [...this.#connections]) conn.reset();
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    this.#stopSchedule();
    for (const conn of [...this.#connections]) conn.destroy();
    this.#connections.clear();
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #stopSchedule(): void {
    if (this.#scheduleTimer !== null) this.#clock.clearTimeout(this.#scheduleTimer);
    this.#scheduleTimer = null;
    this.#scheduleRunning = false;
  }

  #apply(mode: LinkMode, step: number | null): void {
    const previous = this.#mode;
    this.#mode = mode;
    for (const conn of [...this.#connections]) conn.apply(mode);
    notifyChange(`link mode ${formatLinkMode(previous)} -> ${formatLinkMode(mode)}`);
    this.emit('mode', { mode, previous, step });
  }

  #accept(client: Socket): void {
    client.on('error', () => {});
    if (this.#mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (this.#connections.size >= this.#maxConnections) {
      client.resetAndDestroy();
      this.emit('refused', { reason: `maxConnections (${this.#maxConnections}) reached` });
      return;
    }
    const upstream = connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: true });
    const conn = new LinkConnection(++this.#nextId, client, upstream, this.#env);
    this.#connections.add(conn);
    this.#accepted++;
    if (this.#mode.kind === 'half-open') conn.apply(this.#mode);
    notifyChange(`link connection ${conn.id} opened`);
    this.emit('connection', { id: conn.id });
  }
}

function toMode(mode: LinkMode | string): LinkMode {
  return typeof mode === 'string' ? parseLinkMode(mode) : validateLinkMode(mode);
}

/** Creates a faulty link and starts listening; with `t` (node:test's context), closes it when the test ends. */
export async function createFaultyLink(options: FaultyLinkOptions, t?: { after(fn: () => unknown): void }): Promise<FaultyLink> {
  const link = await new FaultyLink(options).listen();
  t?.after(() => link.close());
  return link;
}
