/**
 * One connection to a Phoenix-protocol endpoint, shared by many channels: the state machine, connection
 * attempts with providers and retry policy, heartbeat, frame routing, and the outbox the channels push into.
 */
import { CloseCodes, createSerializer, DRAIN_NOTICE_EVENT, Events, HEARTBEAT_TOPIC, parseDrainNotice, parseReconnectHint, ProtocolError, type Frame, type ProtocolVersion, type ReconnectHint, type Serializer } from '../protocol/index.ts';
import { attemptRequest, type AttemptRequest } from './attempt.ts';
import { outageBackoff } from './backoff.ts';
import { detectPageEnvironment, watchPage, type WakeTrigger } from './browser.ts';
import { Channel, type ChannelOptions, type DefaultEvents, type JoinParams } from './channel.ts';
import { boundedClock, systemClock, type Clock } from './clock.ts';
import { Emitter } from './emitter.ts';
import { randomIdPrefix, utf8Length } from './endpoint.ts';
import { TetherClientError, type ClientErrorCode } from './errors.ts';
import { heartbeatFrame, pushFrame } from './frames.ts';
import { HeartbeatMonitor } from './heartbeat.ts';
import { Outbox } from './outbox.ts';
import { PingRegistry } from './pings.ts';
import { PendingReplies } from './replies.ts';
import { ReconnectPlan } from './reconnect-plan.ts';
import { Push, type PushResult } from './push.ts';
import { SOCKET_DEFAULTS, type SocketEvents, type SocketOptions } from './socket-options.ts';
import { Counters, type SocketStats } from './stats.ts';
import { SocketStates, TransitionReasons, type SocketState, type StateTransition, type TransitionReason } from './states.ts';
import type { Transport, TransportClose, TransportFactory } from './transport.ts';
import { TransportPlan } from './transport-fallback.ts';
import { selectTransports } from './transport-select.ts';

export type { SocketEvents, SocketOptions, TokenContext } from './socket-options.ts';

/** A drain notice's link to the next endpoint: `timer` waits for its start, then for its open (connectTimeoutMs). */
interface Standby {
  transport: Transport | null;
  timer: unknown;
}

// Not `implements SocketLink`: the link's members are internal (stripped from the published types), and a
// class there cannot claim an interface it no longer shows. `new Channel(this, ...)` still checks it.
export class Socket {
  /** @internal */
  readonly clock: Required<Clock>;
  /** @internal */
  readonly outbox: Outbox;
  readonly pushTimeoutMs: number;
  /** @internal */
  readonly channelDefaults: ChannelOptions;
  readonly #history: StateTransition[] = [];
  readonly #events = new Emitter<SocketEvents>();
  readonly #o: SocketOptions;
  readonly #serializer: Serializer;
  readonly #version: ProtocolVersion;
  readonly #plan: TransportPlan;
  readonly #retry: ReconnectPlan;
  readonly #connectTimeoutMs: number;
  readonly #heartbeatTimeoutMs: number;
  readonly #maxFrameBytes: number;
  readonly #heartbeat: HeartbeatMonitor;
  readonly #counters = new Counters();
  readonly #channels = new Map<string, Channel<object, object>>();
  readonly #replies: PendingReplies;
  readonly #pings: PingRegistry;
  readonly #restored = new Set<Push<unknown>>();
  readonly #idPrefix = randomIdPrefix();
  readonly #clientId: string;
  #current: SocketState = SocketStates.idle;
  #transport: Transport | null = null;
  #attemptNo = 0;
  #attemptsSinceOpen = 0;
  #authRejections = 0;
  /** Pending timers by role, each null when not armed (#clearTimer clears one by name). */
  readonly #timers: Record<'connectTimer' | 'retryTimer' | 'closingTimer', unknown> = { connectTimer: null, retryTimer: null, closingTimer: null };
  #connectedSince: number | null = null;
  #everOpened = false;
  #ref = 0;
  #messageNo = 0;
  #seq: number;
  #unwatchPage: (() => void) | null = null;
  #closeWaiters: (() => void)[] = [];
  /** The link a drain notice opened to the next endpoint while the current one still serves (make before break). */
  #standby: Standby | null = null;
  #loaded = false;
  /** Resolves once the outbox store's messages are loaded (at once for the memory store). */
  readonly ready: Promise<void>;

  /** One endpoint URL, or several: after a failed attempt or a dropped link the next attempt goes to the next one. */
  constructor(endpoint: string | readonly string[], options: SocketOptions = {}) {
    this.#o = options;
    this.clock = boundedClock(options.clock ?? systemClock);
    this.#version = options.vsn === '1.0.0' ? 1 : 2;
    this.#serializer = createSerializer(this.#version, 'client');
    const { primary, fallback } = selectTransports(options);
    this.#plan = new TransportPlan(primary, fallback, options.longPollFallbackMs ?? 0, { clock: this.clock, probe: () => this.ping(), fallBack: (why) => this.#fallBack(why) });
    this.#retry = new ReconnectPlan(endpoint, options.reconnect ?? outageBackoff());
    this.pushTimeoutMs = options.pushTimeoutMs ?? SOCKET_DEFAULTS.pushTimeoutMs;
    this.channelDefaults = options.channel ?? {};
    this.outbox = new Outbox(options.outbox, { clock: this.clock, stored: (topic) => this.#channels.get(topic)?.pump(), emitError: (error) => this.emitError(error) });
    this.#pings = new PingRegistry(this.clock);
    this.#replies = new PendingReplies({
      clock: this.clock,
      counters: this.#counters,
      invalidReply: (message, topic, reply) => this.reportError('invalid_frame', message, { topic, cause: reply }),
    });
    this.#clientId = options.clientId ?? this.#idPrefix;
    this.#seq = this.clock.now() * 1000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? SOCKET_DEFAULTS.connectTimeoutMs;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? SOCKET_DEFAULTS.heartbeatTimeoutMs;
    this.#maxFrameBytes = options.maxFrameBytes ?? SOCKET_DEFAULTS.maxFrameBytes;
    this.#heartbeat = new HeartbeatMonitor({
      clock: this.clock,
      intervalMs: options.heartbeatIntervalMs ?? SOCKET_DEFAULTS.heartbeatIntervalMs,
      timeoutMs: this.#heartbeatTimeoutMs,
      lateToleranceMs: options.lateToleranceMs ?? SOCKET_DEFAULTS.lateToleranceMs,
      send: () => this.#sendHeartbeat(),
      onDead: () => this.#heartbeatDead(),
      onRtt: (ms) => this.#counters.rtt(ms),
    });
    this.ready = this.#loadOutbox();
  }

  get state(): SocketState {
    return this.#current;
  }

  /** The endpoint the current (or next) connection attempt uses. */
  get endpoint(): string {
    return this.#retry.endpoint;
  }

  /** Every endpoint given, in the order they are tried. */
  get endpoints(): readonly string[] {
    return this.#retry.endpoints.list;
  }

  /** The most recent transitions (at most `historySize`), oldest first, with wall-clock timestamps. */
  get transitions(): readonly StateTransition[] {
    return this.#history;
  }

  /** True once the outbox store's messages are loaded; nothing is flushed before. */
  get outboxReady(): boolean {
    return this.#loaded;
  }

  get isOpen(): boolean {
    return this.#current === SocketStates.open;
  }

  on<K extends keyof SocketEvents>(event: K, listener: (value: SocketEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  off<K extends keyof SocketEvents>(event: K, listener: (value: SocketEvents[K]) => void): void {
    this.#events.off(event, listener);
  }

  /** Starts connecting (and reconnecting after losses). A no-op while already connecting or connected. */
  connect(): void {
    if (this.#current === SocketStates.connecting || this.#current === SocketStates.open || this.#current === SocketStates.reconnecting) return;
    if (this.#current === SocketStates.closing) this.#finishClosing();
    this.#retry.reset();
    this.#authRejections = 0;
    this.#attemptsSinceOpen = 0;
    const page = this.#o.page === undefined ? detectPageEnvironment() : this.#o.page || null;
    if (page && !this.#unwatchPage) {
      this.#unwatchPage = watchPage(page, (trigger) => this.#wake(trigger), () => this.#heartbeat.setHidden(true));
    }
    this.#transition(SocketStates.connecting, TransitionReasons.connect, 'connect() was called');
    void this.#attempt(false);
  }

  /** Closes the connection for good: nothing reconnects it until `connect()`. Resolves once closed. */
  disconnect(code = 1000, reason = 'client disconnect'): Promise<void> {
    this.#unwatchPage?.();
    this.#unwatchPage = null;
    this.#clearTimer('retryTimer');
    this.#clearTimer('connectTimer');
    this.#plan.cancel();
    this.#heartbeat.stop();
    if (this.#current === SocketStates.closed || this.#current === SocketStates.idle || this.#current === SocketStates.failed) return Promise.resolve();
    const transport = this.#transport;
    if (this.#current === SocketStates.closing) return new Promise((resolve) => this.#closeWaiters.push(resolve));
    this.#transition(SocketStates.closing, TransitionReasons.disconnect, `disconnect() was called (${code} ${reason})`, { code });
    this.#linkDown('disconnect');
    if (!transport) {
      this.#finishClosing();
      return Promise.resolve();
    }
    this.#timers.closingTimer = this.clock.setTimeout(() => this.#finishClosing(), SOCKET_DEFAULTS.closingTimeoutMs);
    transport.close(code, reason);
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /**
   * A channel on `topic`. One live instance per topic: asking again while one is not closed throws
   * `duplicate_channel`. Type the events with `socket.channel<RoomEvents, RoomReplies>('room:1')`.
   */
  channel<E extends object = DefaultEvents, R extends object = DefaultEvents>(topic: string, params?: JoinParams, options?: ChannelOptions): Channel<E, R> {
    const existing = this.#channels.get(topic);
    if (existing && !existing.isEnded) {
      throw new TetherClientError('duplicate_channel', `A channel for "${topic}" already exists (state ${existing.state}). Use that instance, or call leave() on it first.`, { topic });
    }
    const channel = new Channel<E, R>(this, topic, params ?? {}, { ...this.channelDefaults, ...options });
    this.#channels.set(topic, channel as unknown as Channel<object, object>);
    return channel;
  }

  /** Sends a heartbeat now and resolves with its round trip in ms; rejects if the socket is not open or no reply comes in time. */
  ping(timeoutMs = this.#heartbeatTimeoutMs): Promise<number> {
    if (!this.isOpen) return Promise.reject(this.reportError('not_connected', `ping() needs an open socket; the socket is ${this.#current}. Call connect() and wait for state "open".`, { silent: true }));
    return this.#pings.wait(this.#sendHeartbeat(), timeoutMs);
  }

  stats(): SocketStats {
    const c = this.#counters;
    return {
      state: this.#current,
      transport: this.#plan.name,
      connectedSince: this.#connectedSince,
      reconnects: c.reconnects,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      lastRttMs: c.lastRttMs,
      smoothedRttMs: c.smoothedRttMs,
      heartbeatMisses: this.#heartbeat.misses,
      timeJumps: this.#heartbeat.jumps,
      pendingPushes: this.#replies.size + this.#pings.size,
      outboxDepth: this.outbox.depth,
      outboxBytes: this.outbox.bytes,
      channels: this.#channels.size,
      staleDropped: c.staleDropped,
      invalidFrames: c.invalidFrames,
    };
  }

  // ---- SocketLink (used by channels) ----

  /** @internal */
  makeRef(): string {
    return String(++this.#ref);
  }

  /** @internal */
  nextMessageId(): string {
    return `${this.#idPrefix}.${++this.#messageNo}`;
  }

  /** @internal */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** @internal */
  transmit(push: Push<unknown>, joinRef: string | null, ownJoinRef = false): boolean {
    const transport = this.#transport;
    if (!transport || !this.isOpen) return false;
    const ref = this.makeRef();
    if (ownJoinRef) joinRef = ref;
    let data: string | Uint8Array;
    try {
      data = pushFrame(this.#serializer, joinRef, ref, push, this.#o.messageIds !== false);
    } catch (err) {
      const message = err instanceof ProtocolError ? err.message : String(err);
      push.settle({ status: 'rejected', error: this.reportError('invalid_payload', `"${push.event}" to ${push.topic} could not be encoded: ${message}. Fix the payload (binary needs vsn 2.0.0; names at most 255 bytes).`, { topic: push.topic, cause: err }) });
      return false;
    }
    push.ref = ref;
    push.joinRef = joinRef;
    push.sentAt = this.clock.monotonic();
    this.#replies.add(ref, push);
    this.#write(transport, data);
    return true;
  }

  /** @internal */
  unregister(push: Push<unknown>): void {
    this.#replies.remove(push);
  }

  /** @internal */
  released(push: Push<unknown>): void {
    this.unregister(push);
    if (!push.inOutbox) return;
    this.outbox.release(push);
    if (this.#restored.delete(push)) this.#events.emit('settled', { id: push.id, topic: push.topic, event: push.event, result: push.result as PushResult });
  }

  /** @internal */
  reportError(code: ClientErrorCode, message: string, options: { topic?: string; cause?: unknown; silent?: boolean } = {}): TetherClientError {
    const error = new TetherClientError(code, message, options);
    if (!options.silent) this.emitError(error);
    return error;
  }

  /** @internal */
  emitError(error: TetherClientError): void {
    this.#events.emit('error', error);
  }

  /** @internal */
  countStale(): void {
    this.#counters.staleDropped += 1;
  }

  /** @internal */
  forget(topic: string, owner: object): void {
    if (this.#channels.get(topic) === owner) this.#channels.delete(topic);
  }

  // ---- connection attempts ----

  async #attempt(refresh: boolean): Promise<void> {
    const attemptNo = ++this.#attemptNo;
    const factory = this.#plan.begin();
    const attempt = ++this.#attemptsSinceOpen;
    let request: AttemptRequest;
    try {
      request = await attemptRequest(this.#o, this.endpoint, this.#clientId, { attempt, refresh }, this.#retry.endpoints.several);
    } catch (err) {
      if (attemptNo !== this.#attemptNo || this.#current !== SocketStates.connecting) return;
      this.reportError('provider_failed', `The params or authToken provider threw: ${(err as Error).message}. The socket will retry; fix the provider if this repeats.`, { cause: err });
      this.#scheduleRetry(TransitionReasons.providerFailed, `provider threw: ${(err as Error).message}`);
      return;
    }
    if (attemptNo !== this.#attemptNo || this.#current !== SocketStates.connecting) return;
    const transport = this.#dial(factory, request);
    this.#transport = transport;
    this.#armConnectTimer(transport);
  }

  /** Opens a link (an attempt's or a standby's): its frames count only while it is the socket's link. */
  #dial(factory: TransportFactory, request: AttemptRequest): Transport {
    const transport: Transport = factory(request.url, request.protocols, {
      open: () => this.#transportOpened(transport),
      message: (data, bytes) => this.#transport === transport && this.#receive(transport, data, bytes),
      close: (info) => this.#transportClosed(transport, info),
    });
    return transport;
  }

  /** The attempt on `transport` must open within connectTimeoutMs. */
  #armConnectTimer(transport: Transport): void {
    this.#timers.connectTimer = this.clock.setTimeout(() => {
      this.#timers.connectTimer = null;
      if (this.#transport !== transport || this.#current !== SocketStates.connecting) return;
      this.#transport = null;
      transport.close(1000, 'connect timeout');
      this.reportError('connect_timeout', `The ${this.#plan.name} link to ${this.endpoint} did not open within ${this.#connectTimeoutMs} ms. Retrying with backoff; check the URL and network, or raise connectTimeoutMs.`);
      this.#scheduleRetry(TransitionReasons.connectTimeout, `no open within ${this.#connectTimeoutMs} ms`);
    }, this.#connectTimeoutMs);
  }

  #opened(): void {
    this.#clearTimer('connectTimer');
    this.#dropStandby();
    if (this.#everOpened) this.#counters.reconnects += 1;
    this.#everOpened = true;
    this.#retry.reset();
    this.#authRejections = 0;
    this.#attemptsSinceOpen = 0;
    this.#connectedSince = this.clock.now();
    this.#transition(SocketStates.open, TransitionReasons.opened, `connected to ${this.endpoint} over ${this.#plan.name}`, { transport: this.#plan.name });
    this.#heartbeat.start();
    this.#plan.opened();
    for (const channel of [...this.#channels.values()]) channel.socketOpened();
  }

  #transportClosed(transport: Transport, info: TransportClose): void {
    if (this.#transport !== transport) {
      if (this.#standby?.transport === transport) this.#dropStandby();
      return;
    }
    this.#transport = null;
    this.#clearTimer('connectTimer');
    if (this.#current === SocketStates.closing) {
      this.#finishClosing();
      return;
    }
    if (!info.opened) {
      const what = info.status ? `HTTP ${info.status}` : info.error ?? `close ${info.code}`;
      if (this.#plan.failedBeforeOpen()) return this.#fallBack(`the ${this.#plan.name} link failed before opening (${what})`);
      if (info.status === 401 || info.status === 403) {
        this.#authRejections += 1;
        if (this.#authRejections >= 2) {
          this.reportError('auth_failed', `The server refused the connection with HTTP ${info.status} twice, the second time with a fresh token. Giving up; check the credentials, then call connect().`);
          this.#fail(TransitionReasons.auth, `HTTP ${info.status} after a token refresh`, { status: info.status });
          return;
        }
        this.reportError('auth_rejected', `The server refused the connection with HTTP ${info.status}. Asking the token provider for a fresh token and retrying once.`);
        this.#reconnectAtOnce(TransitionReasons.authRejected, `HTTP ${info.status}; retrying at once with a fresh token`, { status: info.status }, 'retrying with a fresh token');
        void this.#attempt(true);
        return;
      }
      this.reportError('handshake_failed', `The WebSocket to ${this.endpoint} failed before opening (${what}). Retrying with backoff; a browser cannot see the HTTP status, so a refused token looks the same here.`);
      this.#scheduleRetry(TransitionReasons.handshakeFailed, what, info.status === undefined ? {} : { status: info.status }, info.status === undefined);
      return;
    }
    if (info.frameTooLarge) return this.#frameTooLarge(null, info.error ?? 'the server sent a frame over the transport\'s maxFrameBytes');
    const closed = `closed with ${info.code}${info.reason ? ` ${info.reason}` : ''}`;
    if (this.#standby !== null && info.code === CloseCodes.serviceRestart) return this.#adoptStandby(closed);
    this.#linkDown('transport_closed');
    const hint = info.code === CloseCodes.serviceRestart ? parseReconnectHint(info.reason) : null;
    this.#scheduleRetry(TransitionReasons.transportClosed, closed, { code: info.code }, false, hint);
  }

  /** The primary transport failed its check (`longPollFallbackMs`): drop the attempt or link, go on over long-poll at once. */
  #fallBack(why: string): void {
    if (this.#current !== SocketStates.connecting && this.#current !== SocketStates.open) return;
    const transport = this.#transport;
    this.#transport = null;
    this.#clearTimer('connectTimer');
    transport?.close(1000, 'falling back to long-poll');
    if (this.#current === SocketStates.open) this.#linkDown('transport_fallback');
    this.#reconnectAtOnce(TransitionReasons.transportFallback, `${why}; switching to long-poll`, {}, 'connecting over long-poll');
    void this.#attempt(false);
  }

  #heartbeatDead(): void {
    const transport = this.#transport;
    this.#transport = null;
    transport?.close(1000, 'heartbeat timeout');
    this.reportError('heartbeat_timeout', `No heartbeat reply within ${this.#heartbeatTimeoutMs} ms: the link is dead. Reconnecting with backoff.`);
    this.#linkDown('heartbeat_timeout');
    this.#scheduleRetry(TransitionReasons.heartbeatTimeout, `no heartbeat reply within ${this.#heartbeatTimeoutMs} ms`);
  }

  /** The server sent a frame over maxFrameBytes: close the link (if the transport did not) and reconnect. */
  #frameTooLarge(transport: Transport | null, what: string): void {
    this.#transport = null;
    transport?.close(1009, 'frame too large');
    this.reportError('frame_too_large', `The link was closed (1009): ${what}. Reconnecting with backoff; raise maxFrameBytes if the server sends such frames on purpose.`);
    this.#linkDown('frame_too_large');
    this.#scheduleRetry(TransitionReasons.frameTooLarge, what, { code: 1009 });
  }

  /** The open link is gone (or going): stop the heartbeat and tell pending pushes, pings and channels. */
  #linkDown(reason: string): void {
    this.#dropStandby();
    this.#heartbeat.stop();
    this.#connectedSince = null;
    this.#pings.rejectAll(reason);
    for (const channel of [...this.#channels.values()]) channel.socketLost();
    this.#replies.disconnectAll();
  }

  #scheduleRetry(reason: TransitionReason, message: string, detail: { code?: number; status?: number } = {}, refreshToken = false, hint: ReconnectHint | null = null): void {
    this.#plan.cancel();
    const next = this.#retry.next(this.clock.now(), reason, hint);
    if (next === null) {
      this.reportError('retries_exhausted', `The reconnect policy gave up after ${this.#retry.attempts - 1} attempts (last: ${message}). Call connect() to start again.`);
      this.#fail(TransitionReasons.retriesExhausted, `after ${reason}: ${message}`, detail);
      return;
    }
    const delay = next.delayMs;
    const where = `${next.hinted ? (this.#retry.endpoints.several ? ' (the server is draining)' : ' (the server\'s drain hint)') : ''}${this.#retry.endpoints.several ? ` to ${next.endpoint}` : ''}`;
    this.#transition(SocketStates.reconnecting, reason, `${message}; next attempt in ${delay} ms${where}`, { ...detail, delayMs: delay });
    this.#timers.retryTimer = this.clock.setTimeout(() => {
      this.#timers.retryTimer = null;
      this.#retryNow('the retry delay elapsed', refreshToken);
    }, delay);
  }

  /** Straight on to the next attempt: the history still shows the loss (`reconnecting`, no delay), then the retry. */
  #reconnectAtOnce(reason: TransitionReason, message: string, detail: { code?: number; status?: number }, why: string): void {
    this.#transition(SocketStates.reconnecting, reason, message, { ...detail, delayMs: 0 });
    this.#transition(SocketStates.connecting, TransitionReasons.retry, why);
  }

  #retryNow(why: string, refreshToken = false): void {
    if (this.#current !== SocketStates.reconnecting) return;
    this.#clearTimer('retryTimer');
    this.#transition(SocketStates.connecting, TransitionReasons.retry, why);
    void this.#attempt(refreshToken);
  }

  #fail(reason: TransitionReason, message: string, detail: { code?: number; status?: number } = {}): void {
    this.#clearTimer('retryTimer');
    this.#plan.cancel();
    this.#unwatchPage?.();
    this.#unwatchPage = null;
    this.#transition(SocketStates.failed, reason, message, detail);
  }

  #finishClosing(): void {
    this.#clearTimer('closingTimer');
    this.#transport = null;
    if (this.#current === SocketStates.closing) this.#transition(SocketStates.closed, TransitionReasons.closed, 'closed by disconnect()');
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const w of waiters) w();
  }

  #wake(trigger: WakeTrigger): void {
    this.#heartbeat.setHidden(false);
    if (this.#current === SocketStates.open) this.#heartbeat.probe();
    else if (this.#current === SocketStates.reconnecting) this.#retryNow(`page signal: ${trigger}`);
  }

  // ---- frames ----

  #sendHeartbeat(): string {
    const ref = this.makeRef();
    if (this.#transport) this.#write(this.#transport, heartbeatFrame(this.#version, ref));
    return ref;
  }

  #write(transport: Transport, data: string | Uint8Array): void {
    this.#counters.messagesOut += 1;
    this.#counters.bytesOut += typeof data === 'string' ? utf8Length(data) : data.byteLength;
    transport.send(data);
  }

  #receive(transport: Transport, data: string | Uint8Array, wireBytes?: number): void {
    const c = this.#counters;
    const bytes = wireBytes ?? (typeof data === 'string' ? utf8Length(data) : data.byteLength);
    if (bytes > this.#maxFrameBytes) return this.#frameTooLarge(transport, `the server sent a frame of ${bytes} bytes, over maxFrameBytes (${this.#maxFrameBytes} bytes)`);
    c.messagesIn += 1;
    c.bytesIn += bytes;
    let frame: Frame;
    try {
      frame = this.#serializer.decode(data);
    } catch (err) {
      c.invalidFrames += 1;
      this.reportError('invalid_frame', `Dropped a frame the server sent that does not decode (${(err as Error).message}). The server does not speak Phoenix ${this.#version === 2 ? 'V2' : 'V1'} correctly: check the endpoint and vsn, or report it to the server's maintainers.`, { cause: err });
      return;
    }
    if (frame.event === Events.reply && frame.ref !== null) {
      if (frame.topic === HEARTBEAT_TOPIC && this.#heartbeatReply(frame.ref)) return;
      if (this.#replies.take(frame as Frame & { ref: string })) return;
    }
    if (frame.topic === HEARTBEAT_TOPIC && frame.event === DRAIN_NOTICE_EVENT) this.#drainNotice(parseDrainNotice(frame.payload));
    else this.#channels.get(frame.topic)?.receive(frame);
  }

  /**
   * The server is about to close with 1012. With another endpoint, make before break: open the link there now,
   * while this one still serves, and move when it opens (the server gives `tether_move` clients
   * `drainHandoverMs` for it); if the 1012 comes first, that link becomes the next attempt. With one endpoint
   * there is nowhere to go early (the draining server would answer 503), so the close, whose reason carries the
   * same hint, is awaited as usual.
   */
  #drainNotice(hint: ReconnectHint | null): void {
    if (hint === null || this.#transport === null || !this.isOpen || !this.#retry.endpoints.several || this.#standby !== null) return;
    const endpoint = this.#retry.endpoints.following;
    const standby: Standby = { transport: null, timer: null };
    this.#standby = standby;
    // At a random point in the hint's window, so a fleet does not land on the other node all at once.
    standby.timer = this.clock.setTimeout(() => {
      standby.timer = null;
      attemptRequest(this.#o, endpoint, this.#clientId, { attempt: 1, refresh: false }, true).then((request) => {
        if (this.#standby !== standby) return;
        standby.transport = this.#dial(this.#plan.factory, request);
        standby.timer = this.clock.setTimeout(() => this.#standby === standby && this.#dropStandby(), this.#connectTimeoutMs);
      }, () => this.#standby === standby && this.#dropStandby());
    }, this.#retry.spread(hint));
  }

  /** A link opened: the attempt's opens the socket; a standby's is moved to (open to open); any other is stale. */
  #transportOpened(transport: Transport): void {
    if (this.#transport === transport) return this.#opened();
    const standby = this.#standby;
    if (standby?.transport !== transport || !this.isOpen) return;
    const old = this.#transport;
    this.#transport = null;
    this.#moveToStandby();
    old?.close(1000, 'moved to another endpoint');
    this.#transport = transport;
    this.#reconnectAtOnce(TransitionReasons.handover, `the server is draining; the link to ${this.endpoint} is open`, { code: CloseCodes.serviceRestart }, `moving to ${this.endpoint}`);
    this.#opened();
  }

  /** The draining server closed (1012, `closed` says how) before the standby link opened: that link is the next attempt. */
  #adoptStandby(closed: string): void {
    const standby = this.#moveToStandby();
    this.#reconnectAtOnce(TransitionReasons.transportClosed, `${closed}; the link to ${this.endpoint} is already opening`, { code: CloseCodes.serviceRestart }, `connecting to ${this.endpoint} (opened on the drain notice)`);
    if (standby.transport === null) return void this.#attempt(false);
    this.#transport = standby.transport;
    this.#armConnectTimer(standby.transport);
  }

  /** The socket leaves the draining node for the standby's endpoint: the standby is taken and the old link is down. */
  #moveToStandby(): Standby {
    const standby = this.#takeStandby()!;
    this.#linkDown('transport_closed');
    this.#retry.endpoints.advance();
    this.#attemptNo += 1;
    return standby;
  }

  #dropStandby(): void {
    const standby = this.#takeStandby();
    if (standby !== null && standby.transport !== this.#transport) standby.transport?.close(1000, 'not needed');
  }

  /** Empties the standby slot and stops its timer; the caller decides what becomes of its link. */
  #takeStandby(): Standby | null {
    const standby = this.#standby;
    this.#standby = null;
    if (standby !== null && standby.timer !== null) this.clock.clearTimeout(standby.timer);
    return standby;
  }

  #heartbeatReply(ref: string): boolean {
    if (this.#heartbeat.onReply(ref)) return true;
    const rtt = this.#pings.answer(ref);
    if (rtt === null) return false;
    this.#counters.rtt(rtt);
    return true;
  }

  // ---- outbox restore, state, timers ----

  async #loadOutbox(): Promise<void> {
    const maxSeq = await this.outbox.restore(this, (push) => this.#restored.add(push));
    this.#seq = Math.max(this.#seq, maxSeq);
    this.#loaded = true;
    for (const channel of this.#channels.values()) channel.pump();
  }

  #transition(to: SocketState, reason: TransitionReason, message: string, extra: { code?: number; status?: number; delayMs?: number; transport?: string } = {}): void {
    const from = this.#current;
    this.#current = to;
    const t: StateTransition = { from, to, reason, detail: { message, ...extra }, at: this.clock.now() };
    this.#history.push(t);
    if (this.#history.length > (this.#o.historySize ?? SOCKET_DEFAULTS.historySize)) this.#history.shift();
    this.#events.emit('state', t);
  }

  #clearTimer(name: 'connectTimer' | 'retryTimer' | 'closingTimer'): void {
    if (this.#timers[name] !== null) this.clock.clearTimeout(this.#timers[name]);
    this.#timers[name] = null;
  }
}
