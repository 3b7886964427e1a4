/**
 * A topic joined over a Socket, with Phoenix's semantics: every (re)join gets a new join_ref and fresh params;
 * frames carrying an older join_ref are dropped; `phx_error` and lost links rejoin, `phx_close` does not; a
 * refused join stops (unless `retryJoinErrors`). App pushes go through the socket's outbox and are flushed, in
 * order, only once the join has succeeded.
 */
import { Events, isReservedEventName, type Frame, type JsonObject, type Payload } from '../protocol/index.ts';
import { fullJitterBackoff, RetrySchedule, type RetryPolicy } from './backoff.ts';
import { utf8Length } from './endpoint.ts';
import { Emitter } from './emitter.ts';
import { TetherClientError } from './errors.ts';
import { describeReason, encodeBody, unwrap } from './payloads.ts';
import { Push, type PushResult } from './push.ts';
import { expire, type SocketLink } from './link.ts';
import { flushQueued, loseInFlight, rejectQueued } from './channel-outbox.ts';
import { ChannelStates, type ChannelState } from './states.ts';
import { ChannelRecovery } from './recovery/channel-recovery.ts';
import type { JoinRecoveryContext } from './recovery/wire.ts';

/** The default event map: any event, any payload. */
export type DefaultEvents = Record<string, Payload>;

/** Join params, or a provider called before every (re)join. */
export type JoinParams = JsonObject | (() => JsonObject | Promise<JsonObject>);

export interface ChannelOptions {
  /** Delay before rejoining after a join timeout or a server `phx_error`. Default full jitter, base 1 s, cap 10 s. */
  rejoin?: RetryPolicy;
  /** Retry a join the server refused (error reply) with the rejoin policy instead of stopping. Default false. */
  retryJoinErrors?: boolean;
  /** Reply timeout of the join. Default: the socket's pushTimeoutMs. */
  joinTimeoutMs?: number;
}

export interface PushOptions {
  /** How long to wait for the reply once sent. Default: the socket's pushTimeoutMs (10 s). */
  timeoutMs?: number;
  /** How long the message may wait unsent in the outbox. Default: outbox ttlMs (5 min); null = forever. */
  ttlMs?: number | null;
}

export type ChannelStateReason =
  | 'join'
  | 'joined'
  | 'join_refused'
  | 'join_timeout'
  | 'provider_failed'
  | 'server_error'
  | 'server_close'
  | 'socket_lost'
  | 'leave'
  | 'left'
  /** A positioned message showed a gap or a reset stream: rejoining to recover (docs/recovery.md). */
  | 'gap';

export interface ChannelEvents {
  state: { from: ChannelState; to: ChannelState; reason: ChannelStateReason; joinRef: string | null };
  /** Every successful (re)join: whether missed messages were recovered; if not, resync the app's state. */
  joined: JoinRecoveryContext & { joinRef: string | null };
  error: TetherClientError;
}

/** A bytes payload: Uint8Array (or ArrayBuffer) travels as a V2 binary frame. */
export type OutgoingPayload<P> = P extends Uint8Array ? Uint8Array | ArrayBuffer : P;
type ReplyOf<R, K> = K extends keyof R ? R[K] : Payload;
type Handler = (payload: never, frame: Frame) => void;

export class Channel<E extends object = DefaultEvents, R extends object = DefaultEvents> {
  readonly topic: string;
  private readonly socket: SocketLink;
  private readonly params: JoinParams;
  private readonly options: ChannelOptions;
  private readonly lifecycle = new Emitter<ChannelEvents>();
  private readonly bindings = new Map<string, Handler[]>();
  private readonly rejoinSchedule: RetrySchedule;
  private current: ChannelState = ChannelStates.closed;
  private currentJoinRef: string | null = null;
  /** The join (or rejoin) awaiting its reply. */
  private attempt: Push<unknown> | null = null;
  /** What `join()` returned: settles on the first ok, refusal or timeout. */
  private joinHandle: Push<unknown> | null = null;
  private wanted = false;
  private ended = false;
  private rejoinTimer: unknown = null;
  private generation = 0;
  /** Stream positions for history-enabled topics: replay on rejoin, no duplicates, gaps noticed. */
  readonly recovery: ChannelRecovery;

  /** @internal */
  constructor(socket: SocketLink, topic: string, params: JoinParams, options: ChannelOptions) {
    this.socket = socket;
    this.topic = topic;
    this.params = params;
    this.options = options;
    this.recovery = new ChannelRecovery(topic);
    this.rejoinSchedule = new RetrySchedule(options.rejoin ?? fullJitterBackoff({ baseMs: 1000, capMs: 10_000 }));
  }

  get state(): ChannelState {
    return this.current;
  }

  /** The ref of the join that created the current server-side channel; null when not joined or joining. */
  get joinRef(): string | null {
    return this.currentJoinRef;
  }

  /** True once the channel was left, closed by the server, or refused: it never rejoins. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Listens for a server event on this topic; returns the unsubscribe function. */
  on<K extends keyof E & string>(event: K, callback: (payload: E[K], frame: Frame) => void): () => void {
    let list = this.bindings.get(event);
    if (!list) this.bindings.set(event, (list = []));
    list.push(callback as Handler);
    return () => this.off(event, callback);
  }

  off<K extends keyof E & string>(event: K, callback?: (payload: E[K], frame: Frame) => void): void {
    if (!callback) {
      this.bindings.delete(event);
      return;
    }
    const list = this.bindings.get(event);
    if (!list) return;
    const i = list.indexOf(callback as Handler);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.bindings.delete(event);
  }

  /** Channel lifecycle: `state` transitions and `error`s (a refused join, for one). */
  onLifecycle<K extends keyof ChannelEvents>(event: K, listener: (value: ChannelEvents[K]) => void): () => void {
    return this.lifecycle.on(event, listener);
  }

  /**
   * Joins, and keeps the channel joined across reconnects and server crashes until `leave()`. The returned Push
   * settles on the first outcome: ok (joined), error (refused) or timeout (rejoins continue in the background).
   */
  join(): Push<Payload> {
    if (this.ended) throw new TetherClientError('channel_closed', `The channel "${this.topic}" was closed; create a new one with socket.channel().`, { topic: this.topic });
    if (this.joinHandle) throw new TetherClientError('duplicate_channel', `join() was already called on "${this.topic}"; one join per channel instance.`, { topic: this.topic });
    this.wanted = true;
    this.joinHandle = new Push<unknown>(this.socket, controlInit(this.socket, this.topic, Events.join));
    void this.sendJoin();
    return this.joinHandle as Push<Payload>;
  }

  /** Leaves: unsent outbox messages for this topic are rejected, and the channel never rejoins. */
  leave(timeoutMs = this.socket.pushTimeoutMs): Push<Payload> {
    const wasJoined = this.current === ChannelStates.joined || this.current === ChannelStates.joining;
    const joinRef = this.currentJoinRef;
    this.wanted = false;
    this.ended = true;
    this.clearRejoin();
    this.joinHandle?.settle({ status: 'cancelled' });
    this.attempt?.settle({ status: 'cancelled' });
    this.attempt = null;
    rejectQueued(this.socket, this.topic, 'left');
    if (wasJoined && this.socket.isOpen) {
      this.setState(ChannelStates.leaving, 'leave');
      return this.sendLeave(joinRef, timeoutMs).onSettle(() => this.close('left')) as Push<Payload>;
    }
    const push = new Push<unknown>(this.socket, controlInit(this.socket, this.topic, Events.leave));
    push.settle({ status: 'ok', response: {} });
    this.close('left');
    return push as Push<Payload>;
  }

  private sendLeave(joinRef: string | null, timeoutMs: number): Push<unknown> {
    const push = new Push<unknown>(this.socket, { ...controlInit(this.socket, this.topic, Events.leave), timeoutMs });
    push.arm(timeoutMs, () => push.settle({ status: 'timeout' }));
    if (!this.socket.transmit(push, joinRef)) push.settle({ status: 'disconnected' });
    return push;
  }

  /** Sends `event` once joined (queued in the outbox until then). Awaiting the Push gives its result; it never rejects. */
  push<K extends keyof E & string>(event: K, payload: OutgoingPayload<E[K]>, options: PushOptions = {}): Push<ReplyOf<R, K>> {
    if (typeof event !== 'string' || event === '' || isReservedEventName(event)) {
      throw new TetherClientError('invalid_payload', `"${String(event)}" is not a valid event name: use a non-empty string not starting with phx_ or chan_reply_.`, { topic: this.topic });
    }
    const body = encodeBody(payload as unknown, this.topic, event);
    const now = this.socket.clock.now();
    const ttl = options.ttlMs === undefined ? this.socket.outbox.ttlMs : options.ttlMs;
    const push = new Push<unknown>(this.socket, {
      id: this.socket.nextMessageId(),
      topic: this.topic,
      event,
      seq: this.socket.nextSeq(),
      body,
      bytes: typeof body === 'string' ? utf8Length(body) : body.byteLength,
      timeoutMs: options.timeoutMs ?? this.socket.pushTimeoutMs,
      createdAt: now,
      expiresAt: ttl === null ? null : now + ttl,
      inOutbox: true,
    });
    if (this.ended) {
      push.settle({ status: 'rejected', error: new TetherClientError('channel_closed', `"${event}" was not sent: the channel "${this.topic}" is closed (left, closed by the server, or refused). Create and join a new channel.`, { topic: this.topic }) });
      return push as Push<ReplyOf<R, K>>;
    }
    const refused = this.socket.outbox.admit(push, true);
    if (refused) {
      push.settle({ status: 'rejected', error: refused });
      return push as Push<ReplyOf<R, K>>;
    }
    if (ttl !== null) push.arm(ttl, () => expire(push, this.socket));
    this.pump();
    return push as Push<ReplyOf<R, K>>;
  }

  /** `push` as a promise: resolves with the ok response, rejects with a TetherClientError for any other outcome. */
  request<K extends keyof E & string>(event: K, payload: OutgoingPayload<E[K]>, options?: PushOptions): Promise<ReplyOf<R, K>> {
    return this.push(event, payload, options).then((result) => unwrap(result, this.topic, event));
  }

  // ---- driven by the socket ----

  /** Sends every queued outbox message for this topic, in order, while joined. @internal */
  pump(): void {
    if (this.current !== ChannelStates.joined || !this.socket.isOpen || !this.socket.outboxReady) return;
    flushQueued(this.socket, this.topic, this.currentJoinRef);
  }

  /** @internal */
  socketOpened(): void {
    this.rejoinSchedule.reset();
    if (this.wanted && (this.current === ChannelStates.errored || this.current === ChannelStates.joining)) void this.sendJoin();
  }

  /** @internal */
  socketLost(): void {
    this.clearRejoin();
    this.attempt = null;
    loseInFlight(this.socket, this.topic);
    if (this.current === ChannelStates.leaving) this.close('left');
    else if (this.current === ChannelStates.joined || this.current === ChannelStates.joining) this.setState(ChannelStates.errored, 'socket_lost');
  }

  /** @internal */
  receive(frame: Frame): void {
    if (frame.joinRef !== null && frame.joinRef !== this.currentJoinRef) {
      this.socket.countStale();
      return;
    }
    if (frame.event === Events.close) {
      this.ended = true;
      this.wanted = false;
      loseInFlight(this.socket, this.topic);
      rejectQueued(this.socket, this.topic, 'closed by the server');
      this.close('server_close');
      return;
    }
    if (frame.event === Events.error) {
      this.currentJoinRef = null;
      loseInFlight(this.socket, this.topic);
      this.setState(ChannelStates.errored, 'server_error');
      this.scheduleRejoin('phx_error');
      return;
    }
    const admission = this.recovery.admit(frame.meta);
    if (admission !== 'deliver') {
      if (admission === 'rejoin' && this.attempt === null && this.current === ChannelStates.joined) {
        this.currentJoinRef = null;
        loseInFlight(this.socket, this.topic);
        this.setState(ChannelStates.errored, 'gap');
        void this.sendJoin();
      }
      return;
    }
    const list = this.bindings.get(frame.event);
    if (!list) return;
    if (list.length === 1) {
      list[0](frame.payload as never, frame);
      return;
    }
    for (const handler of [...list]) handler(frame.payload as never, frame);
  }

  // ---- joining ----

  private async sendJoin(): Promise<void> {
    if (!this.wanted || this.attempt) return;
    this.clearRejoin();
    const generation = ++this.generation;
    this.currentJoinRef = null;
    if (this.current !== ChannelStates.joining) this.setState(ChannelStates.joining, 'join');
    if (!this.socket.isOpen) return;
    let params: JsonObject;
    try {
      params = typeof this.params === 'function' ? await this.params() : this.params;
    } catch (err) {
      this.emitError(new TetherClientError('provider_failed', `The join params provider of "${this.topic}" threw: ${(err as Error).message}. Retrying with the rejoin policy.`, { topic: this.topic, cause: err }));
      this.setState(ChannelStates.errored, 'provider_failed');
      this.scheduleRejoin('provider_failed');
      return;
    }
    if (generation !== this.generation || !this.wanted || !this.socket.isOpen || this.attempt) return;
    const timeoutMs = this.options.joinTimeoutMs ?? this.socket.pushTimeoutMs;
    const attempt = new Push<unknown>(this.socket, { ...controlInit(this.socket, this.topic, Events.join), body: JSON.stringify(params), timeoutMs });
    this.attempt = attempt;
    attempt.meta = this.recovery.joinMeta();
    attempt.onSettle((result) => this.joinSettled(attempt, result));
    attempt.arm(timeoutMs, () => attempt.settle({ status: 'timeout' }));
    // Phoenix's join_ref is the join's own ref.
    if (this.socket.transmit(attempt, null, true)) this.currentJoinRef = attempt.ref;
  }

  private joinSettled(attempt: Push<unknown>, result: PushResult<unknown>): void {
    if (this.attempt !== attempt) return;
    this.attempt = null;
    switch (result.status) {
      case 'ok':
        this.rejoinSchedule.reset();
        this.setState(ChannelStates.joined, 'joined');
        this.lifecycle.emit('joined', { ...this.recovery.joined(attempt.replyMeta), joinRef: this.currentJoinRef });
        this.joinHandle?.settle(result);
        this.pump();
        return;
      case 'error': {
        const reason = describeReason(result.response);
        this.currentJoinRef = null;
        if (this.options.retryJoinErrors) {
          this.emitError(new TetherClientError('join_refused', `The server refused to join "${this.topic}" (${reason}). Retrying with the rejoin policy (retryJoinErrors).`, { topic: this.topic, cause: result.response }));
          this.setState(ChannelStates.errored, 'join_refused');
          this.scheduleRejoin('join_refused');
        } else {
          this.wanted = false;
          this.ended = true;
          this.emitError(new TetherClientError('join_refused', `The server refused to join "${this.topic}" (${reason}). The channel stopped; fix the cause (params, permissions) and join a new channel, or set retryJoinErrors.`, { topic: this.topic, cause: result.response }));
          rejectQueued(this.socket, this.topic, `join refused: ${reason}`);
          this.close('join_refused');
        }
        this.joinHandle?.settle(result);
        return;
      }
      case 'timeout':
        this.emitError(new TetherClientError('push_timeout', `No reply to the join of "${this.topic}" within the join timeout. Rejoining with backoff.`, { topic: this.topic }));
        this.sendLeave(this.currentJoinRef, this.socket.pushTimeoutMs);
        this.currentJoinRef = null;
        this.setState(ChannelStates.errored, 'join_timeout');
        this.scheduleRejoin('join_timeout');
        this.joinHandle?.settle(result);
        return;
      default:
        return;
    }
  }

  private scheduleRejoin(reason: string): void {
    this.clearRejoin();
    if (!this.wanted) return;
    const delay = this.rejoinSchedule.next(this.socket.clock.now(), reason);
    if (delay === null) {
      this.wanted = false;
      this.ended = true;
      this.emitError(new TetherClientError('retries_exhausted', `The rejoin policy of "${this.topic}" gave up (last: ${reason}). Create and join a new channel to try again.`, { topic: this.topic }));
      rejectQueued(this.socket, this.topic, 'rejoin gave up');
      this.close(reason === 'join_refused' ? 'join_refused' : 'server_error');
      return;
    }
    this.rejoinTimer = this.socket.clock.setTimeout(() => {
      this.rejoinTimer = null;
      if (this.socket.isOpen) void this.sendJoin();
    }, delay);
  }

  private close(reason: ChannelStateReason): void {
    this.clearRejoin();
    this.currentJoinRef = null;
    loseInFlight(this.socket, this.topic);
    if (this.current !== ChannelStates.closed) this.setState(ChannelStates.closed, reason);
    if (this.ended) this.socket.forget(this as unknown as Channel<object, object>);
  }

  private setState(to: ChannelState, reason: ChannelStateReason): void {
    const from = this.current;
    this.current = to;
    this.lifecycle.emit('state', { from, to, reason, joinRef: this.currentJoinRef });
  }

  private emitError(error: TetherClientError): void {
    this.lifecycle.emit('error', error);
    this.socket.emitError(error);
  }

  private clearRejoin(): void {
    if (this.rejoinTimer !== null) this.socket.clock.clearTimeout(this.rejoinTimer);
    this.rejoinTimer = null;
  }
}

function controlInit(socket: SocketLink, topic: string, event: string) {
  return { id: '', topic, event, seq: 0, body: '{}', bytes: 2, timeoutMs: socket.pushTimeoutMs, createdAt: socket.clock.now(), expiresAt: null, inOutbox: false };
}
