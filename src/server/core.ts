/**
 * The runtime-free server core: admission (vsn, origin, capacity, connect hook), the set of live
 * connections, fan-out through the broker, presence, the liveness/budget sweep and draining. A WebSocket
 * adapter (ws-adapter.ts) supplies sockets and frames; nothing here touches a socket library.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Broker, BrokerMessage } from '../broker/types.ts';
import { CloseCodes } from '../protocol/close-codes.ts';
import { canMove, DRAIN_CLOSE_REASON, DRAIN_NOTICE_EVENT, drainCloseReason, drainNoticePayload, optsIn } from '../protocol/extension.ts';
import { HEARTBEAT_TOPIC } from '../protocol/events.ts';
import type { Payload } from '../protocol/frame.ts';
import { createSerializer, negotiateVersion, type ProtocolVersion, type Serializer } from '../protocol/serializer.ts';
import type { BroadcastFailure, BroadcastResult } from './channel.ts';
import type { Clock } from './clock.ts';
import { Connection, type Limits } from './connection.ts';
import { EncodedBroadcast, Fanout } from './fanout.ts';
import { ObserverSet } from './observer.ts';
import type { ConnectHook, ConnectResult, ResolvedOptions, TransportKind } from './options.ts';
import { Presence } from './presence.ts';
import { PushDeduplicator } from './recovery/push-dedup.ts';
import { SharedRanges } from './recovery/shared-ranges.ts';
import { isStorable, notStorableError, validateHistory } from './recovery/channel-recovery.ts';
import { Router } from './router.ts';
import type { TransportSocket } from './transport.ts';
import { asError, isThenable, nullProtoCopy } from './unknown.ts';
import { isLoopbackHost, isSameOrigin, OriginPolicy, parseQuery, readProtocols } from './upgrade.ts';

export interface UpgradeRequest {
  /** The query string, with or without the leading `?`. */
  search: string;
  headers: IncomingHttpHeaders;
  remoteAddress: string;
  /** How the client connects; `websocket` when omitted. */
  transport?: TransportKind;
  /**
   * The Phoenix authToken when the transport carries it elsewhere than in `Sec-WebSocket-Protocol` (long-poll:
   * the `X-Phoenix-AuthToken` header); read from the subprotocols when omitted.
   */
  authToken?: string | null;
}

export type Admission =
  | { ok: false; status: number; reason: string }
  | {
      ok: true;
      vsn: ProtocolVersion;
      params: Record<string, string>;
      assigns: Readonly<Record<string, unknown>>;
      socketId: string | null;
      /** Subprotocol to echo in the handshake (`phoenix` when the client sent an authToken), or null. */
      protocol: string | null;
      remoteAddress: string;
      /** The upgrade request's Origin header (null when it had none) and whether it names this host and port. */
      origin: string | null;
      sameOrigin: boolean;
      /** `websocket` when omitted. */
      transport?: TransportKind;
    };

/** Serializers are stateless: one per protocol version serves every connection. */
const SERIALIZERS: Readonly<Record<ProtocolVersion, Serializer>> = { 1: createSerializer(1, 'server'), 2: createSerializer(2, 'server') };

const BROADCAST_OK: BroadcastResult = Object.freeze({ ok: true });

const TIMED_OUT = Symbol('connect hook timed out');

/** Shared by every connection whose connect hook gave no assigns; channels copy it before anyone writes. */
const NO_ASSIGNS: Readonly<Record<string, unknown>> = Object.freeze(Object.create(null) as Record<string, unknown>);

// Not `implements ConnectionHost`: the host's members are internal (stripped from the published types), and a
// class there cannot claim an interface it no longer shows. `new Connection(this, ...)` still checks it.
export class ServerCore {
  /** @internal */
  readonly router: Router;
  /** @internal */
  readonly observers = new ObserverSet();
  /** @internal */
  readonly fanout: Fanout;
  readonly presence: Presence;
  readonly clock: Clock;
  /** @internal */
  readonly limits: Limits;
  readonly broker: Broker;
  /** The broker's history, with identical range reads in flight shared (a fleet rejoining at once). @internal */
  readonly history: SharedRanges;
  /** Outbox ids of recent pushes per client, so a resend is answered without running the handler again. @internal */
  readonly dedup: PushDeduplicator;
  readonly #options: ResolvedOptions;
  readonly #origins: OriginPolicy;
  readonly #connect: ConnectHook | undefined;
  /** Open connections by id (`closeConnection` finds one without a scan); kept in step by open and connectionClosed. */
  readonly #connections = new Map<string, Connection>();
  readonly #bySocketId = new Map<string, Set<Connection>>();
  /** Upgrades admitted but not yet open; they count against maxConnections. */
  #pending = 0;
  #nextId = 0;
  #sweepTimer: unknown = null;
  #draining = false;
  #drained: (() => void) | null = null;

  constructor(options: ResolvedOptions, broker: Broker, clock: Clock) {
    this.#options = options;
    this.broker = broker;
    this.history = new SharedRanges(broker.history);
    this.clock = clock;
    this.router = new Router(options.channels);
    this.dedup = new PushDeduplicator({
      ...options.dedup,
      now: () => clock.now(),
      sleep: (ms) => new Promise((resolve) => clock.setTimeout(resolve, ms)),
      store: broker.dedup,
      onError: (err) => this.#reportError(err, 'dedup store'),
    });
    for (const [pattern, def] of Object.entries(options.channels)) validateHistory(pattern, def.history, def.intercept);
    this.limits = {
      maxChannelsPerConnection: options.maxChannelsPerConnection,
      closeGraceMs: options.closeGraceMs,
      outboundHardCapBytes: options.outboundHardCapBytes,
      messages: { perSecond: options.messagesPerSecond, burst: options.messageBurst },
      joins: { perSecond: options.joinsPerSecond, burst: options.joinBurst },
      inboundBacklogMessages: options.inboundBacklogMessages,
      inboundBacklogBytes: options.inboundBacklogBytes,
      idleTimeoutMs: options.idleTimeoutMs,
      outboundBudgetBytes: options.outboundBudgetBytes,
      slowConsumerGraceMs: options.slowConsumerGraceMs,
    };
    this.#connect = options.connect;
    const origins = options.allowedOrigins;
    this.#origins =
      origins === undefined ? (options.httpServer === undefined && isLoopbackHost(options.host) ? OriginPolicy.loopback() : new OriginPolicy(null)) : new OriginPolicy(origins);
    this.presence = new Presence({
      broker,
      clock,
      batchMs: options.presenceBatchMs,
      deliver: (topic, event, payload) => this.fanout.deliverToTopic(topic, event, payload),
      onError: this.#reportError,
    });
    this.fanout = new Fanout(broker, this.observers, (topic) => this.presence.forgetRemote(topic));
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  start(): void {
    this.#listen('on');
    this.#sweepTimer = this.clock.setInterval(this.sweep, this.#options.sweepIntervalMs);
  }

  stop(): void {
    this.#listen('off');
    if (this.#sweepTimer !== null) this.clock.clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
  }

  /** The broker events this node handles: `on` at start, the same list `off` at stop. */
  #listen(method: 'on' | 'off'): void {
    const broker = this.broker;
    broker[method]('message', this.#onMessage);
    broker[method]('presence', this.presence.applyRemote);
    broker[method]('nodeDown', this.presence.nodeDown);
    broker[method]('error', this.#reportError);
    broker[method]('gap', this.#onGap);
  }

  readonly #reportError = (err: Error, context = 'broker'): void => {
    this.observers.hooks.error?.(err, context);
  };

  /** A broadcast that cannot be encoded (too deep, a cycle, a BigInt) is reported here, never thrown into the broker. */
  readonly #onMessage = (message: BrokerMessage): void => {
    try {
      this.fanout.deliver(message);
    } catch (err) {
      this.#reportError(asError(err), `encode broadcast ${message.topic} ${message.event}`);
    }
  };

  /** Topics with history are re-read from the last position this node delivered; the others are only reported. */
  readonly #onGap = (topics: string[]): void => {
    const withHistory: string[] = [];
    const without: string[] = [];
    for (const topic of topics) (this.router.match(topic)?.definition.history !== undefined ? withHistory : without).push(topic);
    if (withHistory.length > 0) this.fanout.recoverGap(withHistory);
    if (without.length > 0) this.observers.hooks.brokerGap?.({ topics: without });
  };

  /**
   * Decides whether an upgrade may proceed. On `ok: true` the caller must call `open` (or `abandon` if the
   * handshake fails) exactly once.
   */
  async admit(request: UpgradeRequest): Promise<Admission> {
    const refuse = (status: number, reason: string): Admission => {
      this.observers.hooks.connectionRejected?.({ status, reason });
      return { ok: false, status, reason };
    };
    if (this.#draining) return refuse(503, 'server is shutting down');
    if (this.#connections.size + this.#pending >= this.#options.maxConnections) {
      return refuse(503, `too many connections (maxConnections ${this.#options.maxConnections})`);
    }
    const params = parseQuery(request.search);
    const vsn = negotiateVersion(params.vsn);
    if (vsn === null) return refuse(403, `unsupported vsn "${params.vsn}" (use 1.0.0 or 2.0.0)`);
    const origin = request.headers.origin;
    if (!this.#origins.allows(origin, request.headers.host)) return refuse(403, `origin ${origin} is not allowed`);
    const offered = readProtocols(request.headers['sec-websocket-protocol']);
    const authToken = request.authToken === undefined ? offered.authToken : request.authToken;
    const transport = request.transport ?? 'websocket';
    this.#pending++;
    let result: ConnectResult | typeof TIMED_OUT = true;
    try {
      if (this.#connect) {
        const answer = this.#connect({ params, headers: request.headers, authToken, remoteAddress: request.remoteAddress, transport });
        result = isThenable(answer) ? await this.#withConnectTimeout(answer) : answer;
      }
    } catch (err) {
      this.#pending--;
      this.#reportError(asError(err), 'connect hook');
      return refuse(500, 'connect hook failed');
    }
    if (result === TIMED_OUT) {
      this.#pending--;
      return refuse(503, `connect hook did not answer within ${this.#options.connectTimeoutMs} ms`);
    }
    if (result === false || this.#draining) {
      this.#pending--;
      return refuse(result === false ? 403 : 503, result === false ? 'connect hook refused' : 'server is shutting down');
    }
    const accepted = result === true ? {} : result;
    return {
      ok: true,
      vsn,
      params,
      assigns: accepted.assigns === undefined ? NO_ASSIGNS : nullProtoCopy(accepted.assigns),
      socketId: accepted.id ?? null,
      protocol: offered.echo,
      remoteAddress: request.remoteAddress,
      origin: origin ?? null,
      sameOrigin: isSameOrigin(origin, request.headers.host),
      transport,
    };
  }

  /** The origin policy of upgrades, for transports that check every request (long-poll). */
  originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
    return this.#origins.allows(origin, hostHeader);
  }

  #withConnectTimeout(answer: PromiseLike<ConnectResult>): Promise<ConnectResult | typeof TIMED_OUT> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => resolve(TIMED_OUT), this.#options.connectTimeoutMs);
      answer.then(
        (value) => {
          this.clock.clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          this.clock.clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** The handshake of an admitted upgrade failed. */
  abandon(): void {
    this.#pending--;
  }

  open(transport: TransportSocket, admission: Extract<Admission, { ok: true }>): Connection {
    this.#pending--;
    const conn = new Connection(this, {
      id: `c${(++this.#nextId).toString(36)}`,
      socketId: admission.socketId,
      serializer: SERIALIZERS[admission.vsn],
      transport,
      assigns: admission.assigns,
      connectParams: admission.params,
      remoteAddress: admission.remoteAddress,
      origin: admission.origin,
      sameOrigin: admission.sameOrigin,
      transportKind: admission.transport ?? 'websocket',
    });
    this.#connections.set(conn.id, conn);
    if (conn.socketId !== null) {
      let set = this.#bySocketId.get(conn.socketId);
      if (!set) this.#bySocketId.set(conn.socketId, (set = new Set()));
      set.add(conn);
    }
    this.observers.hooks.connectionOpened?.({ id: conn.id, vsn: conn.vsn, remoteAddress: conn.remoteAddress, transport: conn.transportKind });
    return conn;
  }

  connectionClosed(conn: Connection, code: number, reason: string): void {
    if (this.#connections.get(conn.id) !== conn) return;
    this.#connections.delete(conn.id);
    if (conn.socketId !== null) {
      const set = this.#bySocketId.get(conn.socketId);
      set?.delete(conn);
      if (set?.size === 0) this.#bySocketId.delete(conn.socketId);
    }
    this.observers.hooks.connectionClosed?.({ id: conn.id, code, reason, durationMs: this.clock.now() - conn.openedAt, transport: conn.transportKind });
    if (this.#connections.size === 0) this.#drained?.();
  }

  /** Cuts every connection without a close handshake (the adapter is shutting down). */
  terminateAll(): void {
    for (const conn of [...this.#connections.values()]) conn.transport.terminate();
  }

  /** Publishes through the broker; the promise never rejects (a failure is reported and resolves `ok: false`). */
  publish(topic: string, event: string, payload: Payload, exclude: string | undefined): Promise<BroadcastResult> {
    let published: Promise<unknown>;
    try {
      const history = this.router.match(topic)?.definition.history;
      if (history !== undefined && !isStorable(payload)) {
        return Promise.resolve(this.#broadcastFailed('not_storable', notStorableError(topic), topic, event, `broadcast ${topic}`));
      }
      // The memory broker delivers synchronously, so a throw here may come from delivery as well as publishing.
      published = this.broker.publish(exclude === undefined ? { topic, event, payload } : { topic, event, payload, exclude }, history);
    } catch (err) {
      published = Promise.reject(err);
    }
    return published.then(
      () => BROADCAST_OK,
      (err: unknown) => this.#broadcastFailed('broker_error', asError(err), topic, event, `broker.publish ${topic}`),
    );
  }

  #broadcastFailed(reason: BroadcastFailure, err: Error, topic: string, event: string, context: string): BroadcastResult {
    this.#reportError(err, context);
    this.observers.hooks.broadcastFailed?.({ topic, event, reason });
    return { ok: false, reason, message: err.message };
  }

  /** Closes every connection whose connect hook returned this id, with 1001 so clients reconnect. */
  disconnect(socketId: string): number {
    const set = this.#bySocketId.get(socketId);
    if (!set) return 0;
    const conns = [...set];
    for (const conn of conns) conn.disconnect();
    return conns.length;
  }

  /** Closes one connection (ids as observer hooks report them) with this code; false when it is not open. */
  closeConnection(connectionId: string, code: number, reason: string): boolean {
    const conn = this.#connections.get(connectionId);
    if (conn === undefined) return false;
    conn.close(code, reason);
    return true;
  }

  /** The single liveness and budget pass over all connections: each checks its own. @internal */
  readonly sweep = (): void => {
    const now = this.clock.now();
    for (const conn of this.#connections.values()) {
      // The sweep runs from a timer: a throw for one connection is reported and the pass goes on.
      try {
        conn.checkLiveness(now);
      } catch (err) {
        this.#reportError(asError(err), `sweep ${conn.id}`);
      }
    }
  };

  /**
   * Stops admitting and closes every connection with 1012, `drainBatchSize` at a time; resolves when all closed.
   * Every opted-in connection first reads a drain notice, all in one pass. A client that said it has another
   * endpoint (`tether_move=1`) opens its link there while this server still serves it and leaves once that link
   * is up (make before break): such connections are closed last, and not before `drainHandoverMs`, so their
   * clients go without a link only for the rejoin. The batches are for the rest, clients that can only come
   * back here: each close's reason tells when to come back (after the remaining batches and one more step,
   * within `drainReconnectWindowMs`; protocol/extension.ts). Connections already gone are skipped, not counted.
   */
  drain(): Promise<void> {
    this.#draining = true;
    const { drainBatchSize, drainIntervalMs, drainTimeoutMs, drainReconnectWindowMs, drainHandoverMs } = this.#options;
    // Connections whose clients move elsewhere on the notice go last, once the handover time is up.
    const stay: Connection[] = [];
    const move: Connection[] = [];
    for (const conn of this.#connections.values()) (drainHandoverMs > 0 && canMove(conn.connectParams) ? move : stay).push(conn);
    const queue = [...stay, ...move];
    const firstMover = stay.length;
    const handoverEnds = this.clock.now() + drainHandoverMs;
    let next = 0;
    const batchesAfter = (from: number) => Math.ceil((queue.length - from) / drainBatchSize);
    return new Promise<void>((resolve) => {
      let timeout: unknown = null;
      let stepTimer: unknown = null;
      let done = false;
      const finish = () => {
        done = true;
        this.#drained = null;
        // Every connection may be gone before the next step (clients that left on the notice): no timer outlives the drain.
        if (timeout !== null) this.clock.clearTimeout(timeout);
        if (stepTimer !== null) this.clock.clearTimeout(stepTimer);
        timeout = stepTimer = null;
        resolve();
      };
      if (this.#connections.size === 0) {
        finish();
        return;
      }
      this.#drained = finish;
      // The whole drain plus one step, as the last batch's close will say.
      const payload = drainNoticePayload({ afterMs: batchesAfter(0) * drainIntervalMs, windowMs: drainReconnectWindowMs });
      // Encoded as a broadcast is (at most once per protocol version, on first use) and shared: one write per connection.
      const notice = new EncodedBroadcast(HEARTBEAT_TOPIC, DRAIN_NOTICE_EVENT, payload);
      let frames = 0;
      let bytes = 0;
      for (const conn of queue) {
        try {
          if (!optsIn(conn.connectParams)) continue;
          // A JSON payload: V1 can carry it, so v1() is never null here.
          const shared = conn.vsn === 1 ? notice.v1()! : notice.v2();
          conn.sendShared(shared);
          frames++;
          bytes += shared.byteLength;
        } catch (err) {
          this.#reportError(asError(err), `drain notice ${conn.id}`);
        }
      }
      // Reported once for the pass, the way fan-out reports a broadcast.
      if (frames > 0) this.observers.hooks.frameOut?.(bytes, frames);
      const step = () => {
        stepTimer = null;
        if (done) return;
        let closed = 0;
        while (closed < drainBatchSize && next < queue.length) {
          const conn = queue[next];
          // Closed since the drain began (a client that left on the notice): skipped, not counted.
          if (conn.closing) {
            next++;
            continue;
          }
          const wait = next >= firstMover ? handoverEnds - this.clock.now() : 0;
          if (wait > 0) {
            stepTimer = this.clock.setTimeout(step, wait);
            return;
          }
          next++;
          closed += 1;
          try {
            // The remaining batches plus one step, so the last batch does not come back while this server still refuses (503).
            const reason = optsIn(conn.connectParams) ? drainCloseReason({ afterMs: (batchesAfter(next) + 1) * drainIntervalMs, windowMs: drainReconnectWindowMs }) : DRAIN_CLOSE_REASON;
            conn.close(CloseCodes.serviceRestart, reason);
          } catch (err) {
            this.#reportError(asError(err), `drain ${conn.id}`);
          }
        }
        // A transport that reports its close at once may have ended the drain inside the loop: no timer after it.
        if (done) return;
        if (next < queue.length) stepTimer = this.clock.setTimeout(step, drainIntervalMs);
        else timeout = this.clock.setTimeout(finish, drainTimeoutMs);
      };
      step();
    });
  }

  topics(): Map<string, number> {
    return this.fanout.counts();
  }
}
