/** The public server: createServer(options) -> TetherServer (HTTP server + ws adapter + core). */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { MemoryBroker } from '../broker/memory.ts';
import type { Broker } from '../broker/types.ts';
import type { Payload } from '../protocol/frame.ts';
import type { BroadcastResult } from './channel.ts';
import { systemClock } from './clock.ts';
import { resolveCompression } from './compression.ts';
import { ServerCore } from './core.ts';
import type { ServerObserver } from './observer.ts';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options.ts';
import type { Presence } from './presence.ts';
import { guardHandshakes, type HandshakeGuard } from './handshake-guard.ts';
import { attachWs, type WsAdapter } from './ws-adapter.ts';
import { attachLongPoll, type LongPollEndpoint } from './longpoll/endpoint.ts';
import { createLongPollRelay } from './longpoll/relay.ts';
import { LongPollSessions } from './longpoll/sessions.ts';
import { SessionTokens } from './longpoll/token.ts';
import type { LongPollRelay } from './longpoll/types.ts';

export interface ListenInfo {
  port: number;
  /** What a Phoenix client takes: `ws://host:port${mount}` (it appends `/websocket`, its LongPoll `/longpoll`); `wss://` over TLS. */
  url: string;
  /** The HTTP base, `http://host:port` (`https://` over TLS). */
  httpUrl: string;
}

export class TetherServer {
  readonly #options: ResolvedOptions;
  readonly #core: ServerCore;
  readonly #http: HttpServer;
  readonly #ownsHttp: boolean;
  readonly #ownsBroker: boolean;
  #adapter: WsAdapter | null = null;
  #guard: HandshakeGuard | null = null;
  readonly #longPoll: LongPollSessions;
  readonly #relay: LongPollRelay;
  #longPollEndpoint: LongPollEndpoint | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: ServerOptions) {
    this.#options = resolveOptions(options);
    this.#ownsBroker = this.#options.broker === undefined;
    const clock = this.#options.clock ?? systemClock;
    const broker: Broker = this.#options.broker ?? new MemoryBroker({ history: { ...this.#options.history, now: () => clock.now() }, timers: clock });
    this.#core = new ServerCore(this.#options, broker, clock);
    const o = this.#options;
    this.#longPoll = new LongPollSessions(this.#core, new SessionTokens(o.longPollSecret), {
      windowMs: o.longPollWindowMs,
      idleMs: o.longPollIdleMs,
      maxFramesPerPost: o.longPollMaxFramesPerPost,
      maxQueuedMessages: o.longPollMaxQueuedMessages,
      maxFrameBytes: o.maxFrameBytes,
      sweepIntervalMs: o.sweepIntervalMs,
    });
    this.#relay = createLongPollRelay(broker);
    this.#ownsHttp = this.#options.httpServer === undefined;
    const tls = this.#options.tls;
    this.#http =
      this.#options.httpServer ??
      (tls === undefined ? createHttpServer(this.#answerPlainHttp) : createHttpsServer({ ...tls, minVersion: 'TLSv1.2' }, this.#answerPlainHttp));
    // While draining, every answer of our own HTTP server ends its connection: a client (a health probe, a
    // long-poll) then opens a new one, which a load balancer or node:cluster gives to a server that stays, instead
    // of reusing a keep-alive connection that the end of the drain would cut under a request.
    if (this.#ownsHttp) {
      this.#http.prependListener('request', (_req, res) => {
        if (this.#core.draining) res.shouldKeepAlive = false;
      });
    }
  }

  /** Starts the broker (when not already running) and listens; with `httpServer`, listens only if it is not. */
  async listen(): Promise<ListenInfo> {
    if (this.#adapter === null) {
      if (!this.#core.broker.isReady()) await this.#core.broker.start();
      this.#core.start();
      this.#adapter = attachWs(this.#http, this.#core, {
        path: `${this.#options.mount}/websocket`,
        maxFrameBytes: this.#options.maxFrameBytes,
        refuseOtherPaths: this.#ownsHttp,
        framesPerTurn: this.#options.framesPerTurn,
        readBacklogFrames: this.#options.readBacklogFrames,
        readBacklogBytes: this.#options.readBacklogBytes,
        compression: resolveCompression(this.#options.compression),
      });
      this.#relay.serve((request) => this.#longPoll.handle(request));
      this.#longPollEndpoint = attachLongPoll(this.#http, this.#core, this.#longPoll, this.#relay, {
        mount: this.#options.mount,
        maxBodyBytes: this.#options.longPollMaxBodyBytes,
        bodyTimeoutMs: this.#options.handshakeTimeoutMs,
        windowMs: this.#options.longPollWindowMs,
      });
      this.#guard = guardHandshakes(this.#http, {
        handshakeTimeoutMs: this.#options.handshakeTimeoutMs,
        maxPendingHandshakes: this.#options.maxPendingHandshakes,
        clock: this.#core.clock,
      });
    }
    if (!this.#http.listening) {
      await new Promise<void>((resolve, reject) => {
        this.#http.once('error', reject);
        this.#http.listen({ port: this.#options.port, host: this.#options.host, backlog: this.#options.backlog }, () => {
          this.#http.off('error', reject);
          resolve();
        });
      });
    }
    const address = this.#http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    // An HTTPS server (ours with `tls`, or one the caller passed) serves wss:// and https://.
    const secure = 'setSecureContext' in this.#http;
    const base = `${host}:${address.port}`;
    return { port: address.port, url: `${secure ? 'wss' : 'ws'}://${base}${this.#options.mount}`, httpUrl: `${secure ? 'https' : 'http'}://${base}` };
  }

  /**
   * Sends an event to every subscriber of a topic on every node. Resolves `{ok: false, reason}` when the broker
   * failed the publish or the payload cannot be kept in the topic's history; never rejects.
   */
  broadcast(topic: string, event: string, payload: Payload): Promise<BroadcastResult> {
    return this.#core.publish(topic, event, payload, undefined);
  }

  /** Closes every socket whose connect hook returned this id (code 1001); returns how many. */
  disconnect(id: string): number {
    return this.#core.disconnect(id);
  }

  /**
   * Closes one connection (its id as observer hooks report it) with a WebSocket close code a server may send
   * (1000-1014 except 1004-1006, or 3000-4999); false when no such connection is open.
   */
  closeConnection(connectionId: string, code: number, reason = ''): boolean {
    const sendable = (code >= 1000 && code <= 1014 && (code < 1004 || code > 1006)) || (code >= 3000 && code <= 4999);
    if (!Number.isInteger(code) || !sendable) throw new RangeError(`${code} is not a close code a server may send (1000-1014 except 1004-1006, or 3000-4999)`);
    return this.#core.closeConnection(connectionId, code, reason);
  }

  observe(observer: ServerObserver): () => void {
    return this.#core.observers.add(observer);
  }

  /** TCP connections that have not yet sent a complete request head (bounded by `maxPendingHandshakes`). */
  get pendingHandshakes(): number {
    return this.#guard?.pending ?? 0;
  }

  /** Open connections, long-poll sessions included. */
  get connectionCount(): number {
    return this.#core.connectionCount;
  }

  /** Long-poll sessions this node holds (open, or closed with messages still to collect). */
  get longPollSessions(): number {
    return this.#longPoll.size;
  }

  /** True from the moment close() is called: new upgrades get HTTP 503 and connections are being closed. */
  get draining(): boolean {
    return this.#core.draining;
  }

  /** Topic -> number of subscribers on this node. */
  topics(): Map<string, number> {
    return this.#core.topics();
  }

  get presence(): Presence {
    return this.#core.presence;
  }

  get broker(): Broker {
    return this.#core.broker;
  }

  get httpServer(): HttpServer {
    return this.#http;
  }

  /** Drains (1012, in batches), then stops; the HTTP server and broker are closed only if the server made them. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#core.drain();
    this.#adapter?.close();
    this.#longPoll.close();
    this.#relay.close();
    await this.#longPollEndpoint?.settled(this.#options.drainTimeoutMs);
    this.#longPollEndpoint?.detach();
    this.#guard?.detach();
    this.#core.stop();
    if (this.#ownsHttp && this.#http.listening) {
      await new Promise<void>((resolve) => {
        this.#http.close(() => resolve());
        // Idle keep-alive connections go now; a request still being answered gets a moment to finish.
        this.#http.closeIdleConnections();
        const cut = setTimeout(() => this.#http.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
        cut.unref();
      });
    }
    if (this.#ownsBroker) await this.#core.broker.close();
  }

  readonly #answerPlainHttp = (req: { url?: string }, res: import('node:http').ServerResponse): void => {
    const endpoint = `${this.#options.mount}/websocket`;
    res.statusCode = req.url === '/' ? 200 : 404;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(req.url === '/' ? `Tether: connect a Phoenix Channels client to ${endpoint}\n` : 'Not found\n');
  };
}

/** How long close() lets HTTP requests in progress finish before it cuts their connections. */
const HTTP_CLOSE_GRACE_MS = 1000;

export function createServer(options: ServerOptions): TetherServer {
  return new TetherServer(options);
}
