/**
 * A topic joined over a Socket, with Phoenix's semantics: every (re)join gets a new join_ref and fresh params;
 * frames carrying an older join_ref are dropped; `phx_error` and lost links rejoin, `phx_close` does not; a
 * refused join stops (unless `retryJoinErrors`). App pushes go through the socket's outbox and are flushed, in
 * order, only once the join has succeeded.
 */
import { Events, isReservedEventName, type Frame, type JsonObject, type Payload } from '../protocol/index.ts';
import { fullJitterBackoff, RetrySchedule } from './backoff.ts';
import type { ChannelEvents, ChannelOptions, ChannelStateReason, DefaultEvents, JoinParams, OutgoingPayload, PushOptions } from './channel-options.ts';
import { utf8Length } from './endpoint.ts';
import { Emitter } from './emitter.ts';
import { TetherClientError } from './errors.ts';
import { describeReason, encodeBody, unwrap } from './payloads.ts';
import { Push, type PushResult } from './push.ts';
import type { SocketLink } from './link.ts';
import { TopicOutbox } from './topic-outbox.ts';
import { ChannelStates, type ChannelState } from './states.ts';
import { ChannelRecovery } from './recovery/channel-recovery.ts';

export type { ChannelEvents, ChannelOptions, ChannelStateReason, DefaultEvents, JoinParams, OutgoingPayload, PushOptions } from './channel-options.ts';

type ReplyOf<R, K> = K extends keyof R ? R[K] : Payload;
type Handler = (payload: never, frame: Frame) => void;

/**
 * Where a channel stands, with what only that phase has: the join attempt in flight, the join_ref of the
 * membership, the timer of a pending rejoin. The public `state` is read from it.
 */
type JoinPhase =
  /** Not joined and not trying: never joined, or ended (left, closed by the server, refused, given up). */
  | { readonly kind: 'idle' }
  /** `attempt` is null while the params provider runs or the socket is not open. */
  | { readonly kind: 'joining'; attempt: Push<unknown> | null; readonly generation: number }
  | { readonly kind: 'joined'; readonly joinRef: string | null }
  /** Waiting to rejoin: `timer` runs the rejoin delay; null waits for the socket to open. */
  | { readonly kind: 'errored'; timer: unknown }
  | { readonly kind: 'leaving'; readonly joinRef: string | null };

const PUBLIC_STATE = { idle: ChannelStates.closed, joining: ChannelStates.joining, joined: ChannelStates.joined, errored: ChannelStates.errored, leaving: ChannelStates.leaving } as const;

/** How the server (or a gap) ended a membership or a join attempt; one path handles them all. */
type ServerEnd = 'server_error' | 'server_close' | 'gap';

export class Channel<E extends object = DefaultEvents, R extends object = DefaultEvents> {
  readonly topic: string;
  readonly #socket: SocketLink;
  readonly #outbox: TopicOutbox;
  readonly #params: JoinParams;
  readonly #options: ChannelOptions;
  readonly #lifecycle = new Emitter<ChannelEvents>();
  readonly #bindings = new Map<string, Handler[]>();
  readonly #rejoinSchedule: RetrySchedule;
  #phase: JoinPhase = { kind: 'idle' };
  /** What `join()` returned: settles on the first ok, refusal or timeout. */
  #joinHandle: Push<unknown> | null = null;
  #wanted = false;
  #ended = false;
  #generation = 0;
  /** Stream positions for history-enabled topics: replay on rejoin, no duplicates, gaps noticed. */
  readonly recovery: ChannelRecovery;

  /** @internal */
  constructor(socket: SocketLink, topic: string, params: JoinParams, options: ChannelOptions) {
    this.#socket = socket;
    this.topic = topic;
    this.#outbox = new TopicOutbox(socket, topic);
    this.#params = params;
    this.#options = options;
    this.recovery = new ChannelRecovery(topic);
    this.#rejoinSchedule = new RetrySchedule(options.rejoin ?? fullJitterBackoff({ baseMs: 1000, capMs: 10_000 }));
  }

  get state(): ChannelState {
    return PUBLIC_STATE[this.#phase.kind];
  }

  /** The ref of the join that created the current server-side channel (or of the join in flight); else null. */
  get joinRef(): string | null {
    const p = this.#phase;
    switch (p.kind) {
      case 'joined':
      case 'leaving':
        return p.joinRef;
      case 'joining':
        return p.attempt?.ref ?? null;
      default:
        return null;
    }
  }

  /** True once the channel was left, closed by the server, or refused: it never rejoins. */
  get isEnded(): boolean {
    return this.#ended;
  }

  /** Listens for a server event on this topic; returns the unsubscribe function. */
  on<K extends keyof E & string>(event: K, callback: (payload: E[K], frame: Frame) => void): () => void {
    let list = this.#bindings.get(event);
    if (!list) this.#bindings.set(event, (list = []));
    list.push(callback as Handler);
    return () => this.off(event, callback);
  }

  off<K extends keyof E & string>(event: K, callback?: (payload: E[K], frame: Frame) => void): void {
    if (!callback) {
      this.#bindings.delete(event);
      return;
    }
    const list = this.#bindings.get(event);
    if (!list) return;
    const i = list.indexOf(callback as Handler);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#bindings.delete(event);
  }

  /** Channel lifecycle: `state` transitions and `error`s (a refused join, for one). */
  onLifecycle<K extends keyof ChannelEvents>(event: K, listener: (value: ChannelEvents[K]) => void): () => void {
    return this.#lifecycle.on(event, listener);
  }

  /**
   * Joins, and keeps the channel joined across reconnects and server crashes until `leave()`. The returned Push
   * settles on the first outcome: ok (joined), error (refused) or timeout (rejoins continue in the background);
   * `disconnected` if the channel ends first (server `phx_close`, rejoin policy gave up).
   */
  join(): Push<Payload> {
    if (this.#ended) throw new TetherClientError('channel_closed', `The channel "${this.topic}" was closed; create a new one with socket.channel().`, { topic: this.topic });
    if (this.#joinHandle) throw new TetherClientError('duplicate_channel', `join() was already called on "${this.topic}"; one join per channel instance.`, { topic: this.topic });
    this.#wanted = true;
    this.#joinHandle = new Push<unknown>(this.#socket, controlInit(this.#socket, this.topic, Events.join));
    void this.#sendJoin();
    return this.#joinHandle as Push<Payload>;
  }

  /** Leaves: unsent outbox messages for this topic are rejected, and the channel never rejoins. */
  leave(timeoutMs = this.#socket.pushTimeoutMs): Push<Payload> {
    const wasJoined = this.#phase.kind === 'joined' || this.#phase.kind === 'joining';
    const joinRef = this.joinRef;
    this.#wanted = false;
    this.#ended = true;
    this.#joinHandle?.settle({ status: 'cancelled' });
    this.#dropAttempt({ status: 'cancelled' });
    this.#outbox.rejectQueued('left');
    if (wasJoined && this.#socket.isOpen) {
      this.#enter({ kind: 'leaving', joinRef }, 'leave');
      return this.#sendLeave(joinRef, timeoutMs).onSettle(() => this.#close('left')) as Push<Payload>;
    }
    const push = new Push<unknown>(this.#socket, controlInit(this.#socket, this.topic, Events.leave));
    push.settle({ status: 'ok', response: {} });
    this.#close('left');
    return push as Push<Payload>;
  }

  #sendLeave(joinRef: string | null, timeoutMs: number): Push<unknown> {
    const push = new Push<unknown>(this.#socket, { ...controlInit(this.#socket, this.topic, Events.leave), timeoutMs });
    push.arm(timeoutMs, () => push.settle({ status: 'timeout' }));
    if (!this.#socket.transmit(push, joinRef)) push.settle({ status: 'disconnected' });
    return push;
  }

  /** Sends `event` once joined (queued in the outbox until then). Awaiting the Push gives its result; it never rejects. */
  push<K extends keyof E & string>(event: K, payload: OutgoingPayload<E[K]>, options: PushOptions = {}): Push<ReplyOf<R, K>> {
    if (typeof event !== 'string' || event === '' || isReservedEventName(event)) {
      throw new TetherClientError('invalid_payload', `"${String(event)}" is not a valid event name: use a non-empty string not starting with phx_ or chan_reply_.`, { topic: this.topic });
    }
    const body = encodeBody(payload as unknown, this.topic, event);
    const now = this.#socket.clock.now();
    const ttl = options.ttlMs === undefined ? this.#socket.outbox.ttlMs : options.ttlMs;
    const push = new Push<unknown>(this.#socket, {
      id: this.#socket.nextMessageId(),
      topic: this.topic,
      event,
      seq: this.#socket.nextSeq(),
      body,
      bytes: typeof body === 'string' ? utf8Length(body) : body.byteLength,
      timeoutMs: options.timeoutMs ?? this.#socket.pushTimeoutMs,
      createdAt: now,
      expiresAt: ttl === null ? null : now + ttl,
      inOutbox: true,
    });
    if (this.#ended) {
      push.settle({ status: 'rejected', error: new TetherClientError('channel_closed', `"${event}" was not sent: the channel "${this.topic}" is closed (left, closed by the server, or refused). Create and join a new channel.`, { topic: this.topic }) });
      return push as Push<ReplyOf<R, K>>;
    }
    if (this.#outbox.accept(push)) this.pump();
    return push as Push<ReplyOf<R, K>>;
  }

  /** `push` as a promise: resolves with the ok response, rejects with a TetherClientError for any other outcome. */
  request<K extends keyof E & string>(event: K, payload: OutgoingPayload<E[K]>, options?: PushOptions): Promise<ReplyOf<R, K>> {
    return this.push(event, payload, options).then((result) => unwrap(result, this.topic, event));
  }

  // ---- driven by the socket ----

  /** Sends every queued outbox message for this topic, in order, while joined. @internal */
  pump(): void {
    const phase = this.#phase;
    if (phase.kind !== 'joined' || !this.#socket.isOpen || !this.#socket.outboxReady) return;
    this.#outbox.flush(phase.joinRef);
  }

  /** @internal */
  socketOpened(): void {
    this.#rejoinSchedule.reset();
    const phase = this.#phase;
    if (this.#wanted && (phase.kind === 'errored' || (phase.kind === 'joining' && phase.attempt === null))) void this.#sendJoin();
  }

  /** @internal */
  socketLost(): void {
    this.#dropAttempt();
    this.#outbox.loseInFlight();
    const phase = this.#phase;
    if (phase.kind === 'leaving') this.#close('left');
    else if (phase.kind === 'joined' || phase.kind === 'joining') this.#enter({ kind: 'errored', timer: null }, 'socket_lost');
    else if (phase.kind === 'errored') this.#clearRejoin(phase);
  }

  /** @internal */
  receive(frame: Frame): void {
    if (frame.joinRef !== null && frame.joinRef !== this.joinRef) {
      this.#socket.countStale();
      return;
    }
    if (frame.event === Events.close) return this.#serverEnded('server_close');
    if (frame.event === Events.error) return this.#serverEnded('server_error');
    const admission = this.recovery.admit(frame.meta);
    if (admission !== 'deliver') {
      if (admission === 'rejoin' && this.#phase.kind === 'joined') this.#serverEnded('gap');
      return;
    }
    const list = this.#bindings.get(frame.event);
    if (!list) return;
    if (list.length === 1) {
      list[0](frame.payload as never, frame);
      return;
    }
    for (const handler of [...list]) handler(frame.payload as never, frame);
  }

  // ---- joining ----

  async #sendJoin(): Promise<void> {
    if (!this.#wanted || (this.#phase.kind === 'joining' && this.#phase.attempt !== null)) return;
    const generation = ++this.#generation;
    this.#enter({ kind: 'joining', attempt: null, generation }, 'join');
    if (!this.#socket.isOpen) return;
    let params: JsonObject;
    try {
      params = typeof this.#params === 'function' ? await this.#params() : this.#params;
    } catch (err) {
      if (!this.#awaitingAttempt(generation)) return;
      this.#emitError(new TetherClientError('provider_failed', `The join params provider of "${this.topic}" threw: ${(err as Error).message}. Retrying with the rejoin policy.`, { topic: this.topic, cause: err }));
      this.#enter({ kind: 'errored', timer: null }, 'provider_failed');
      this.#scheduleRejoin('provider_failed');
      return;
    }
    const phase = this.#phase;
    if (!this.#awaitingAttempt(generation) || phase.kind !== 'joining' || !this.#socket.isOpen) return;
    const timeoutMs = this.#options.joinTimeoutMs ?? this.#socket.pushTimeoutMs;
    const attempt = new Push<unknown>(this.#socket, { ...controlInit(this.#socket, this.topic, Events.join), body: JSON.stringify(params), timeoutMs });
    phase.attempt = attempt;
    attempt.meta = this.recovery.joinMeta();
    attempt.onSettle((result) => this.#joinSettled(attempt, result));
    attempt.arm(timeoutMs, () => attempt.settle({ status: 'timeout' }));
    // Phoenix's join_ref is the join's own ref.
    this.#socket.transmit(attempt, null, true);
  }

  /** Still the joining phase that `generation` started, with no attempt sent yet. */
  #awaitingAttempt(generation: number): boolean {
    const phase = this.#phase;
    return this.#wanted && phase.kind === 'joining' && phase.generation === generation && phase.attempt === null;
  }

  #joinSettled(attempt: Push<unknown>, result: PushResult<unknown>): void {
    if (this.#phase.kind !== 'joining' || this.#phase.attempt !== attempt) return;
    this.#phase.attempt = null;
    switch (result.status) {
      case 'ok':
        this.#rejoinSchedule.reset();
        this.#enter({ kind: 'joined', joinRef: attempt.ref }, 'joined');
        this.#lifecycle.emit('joined', { ...this.recovery.joined(attempt.replyMeta), joinRef: attempt.ref });
        this.#joinHandle?.settle(result);
        this.pump();
        return;
      case 'error': {
        const reason = describeReason(result.response);
        if (this.#options.retryJoinErrors) {
          this.#emitError(new TetherClientError('join_refused', `The server refused to join "${this.topic}" (${reason}). Retrying with the rejoin policy (retryJoinErrors).`, { topic: this.topic, cause: result.response }));
          this.#enter({ kind: 'errored', timer: null }, 'join_refused');
          this.#scheduleRejoin('join_refused');
          this.#joinHandle?.settle(result);
          return;
        }
        this.#wanted = false;
        this.#ended = true;
        this.#emitError(new TetherClientError('join_refused', `The server refused to join "${this.topic}" (${reason}). The channel stopped; fix the cause (params, permissions) and join a new channel, or set retryJoinErrors.`, { topic: this.topic, cause: result.response }));
        this.#joinHandle?.settle(result);
        this.#outbox.rejectQueued(`join refused: ${reason}`);
        this.#close('join_refused');
        return;
      }
      case 'timeout':
        this.#emitError(new TetherClientError('push_timeout', `No reply to the join of "${this.topic}" within the join timeout. Rejoining with backoff.`, { topic: this.topic }));
        this.#sendLeave(attempt.ref, this.#socket.pushTimeoutMs);
        this.#enter({ kind: 'errored', timer: null }, 'join_timeout');
        this.#scheduleRejoin('join_timeout');
        this.#joinHandle?.settle(result);
        return;
      default:
        return;
    }
  }

  /**
   * The one path for every server-initiated end of a membership or of a join in flight: `phx_error` and a
   * recovery gap rejoin (phx_error after the rejoin delay, as phoenix.js resets its join push on error; a gap at
   * once), `phx_close` ends the channel.
   */
  #serverEnded(how: ServerEnd): void {
    const kind = this.#phase.kind;
    if (kind === 'idle' || (kind === 'errored' && how !== 'server_close')) return;
    if (kind === 'leaving') return this.#close('left');
    this.#dropAttempt();
    this.#outbox.loseInFlight();
    if (how === 'server_close') {
      this.#wanted = false;
      this.#ended = true;
      this.#outbox.rejectQueued('closed by the server');
      this.#close('server_close');
      return;
    }
    this.#enter({ kind: 'errored', timer: null }, how);
    if (how === 'gap') void this.#sendJoin();
    else this.#scheduleRejoin('phx_error');
  }

  /** Ends the join attempt in flight, if any; its reply, should one still come, finds no pending push. */
  #dropAttempt(result: PushResult<unknown> = { status: 'disconnected' }): void {
    const phase = this.#phase;
    if (phase.kind !== 'joining' || phase.attempt === null) return;
    const attempt = phase.attempt;
    phase.attempt = null;
    attempt.settle(result);
  }

  #scheduleRejoin(reason: string): void {
    const phase = this.#phase;
    if (!this.#wanted || phase.kind !== 'errored') return;
    this.#clearRejoin(phase);
    const delay = this.#rejoinSchedule.next(this.#socket.clock.now(), reason);
    if (delay === null) {
      this.#wanted = false;
      this.#ended = true;
      this.#emitError(new TetherClientError('retries_exhausted', `The rejoin policy of "${this.topic}" gave up (last: ${reason}). Create and join a new channel to try again.`, { topic: this.topic }));
      this.#outbox.rejectQueued('rejoin gave up');
      this.#close(reason === 'join_refused' ? 'join_refused' : 'server_error');
      return;
    }
    phase.timer = this.#socket.clock.setTimeout(() => {
      phase.timer = null;
      if (this.#phase === phase && this.#socket.isOpen) void this.#sendJoin();
    }, delay);
  }

  /** The channel ended (`ended`), or a leave finished: nothing of the membership is left. */
  #close(reason: ChannelStateReason): void {
    this.#dropAttempt();
    this.#outbox.loseInFlight();
    this.#enter({ kind: 'idle' }, reason);
    this.#joinHandle?.settle({ status: 'disconnected' });
    if (this.#ended) this.#socket.forget(this.topic, this);
  }

  /** Moves to `next`; leaving the errored phase cancels its rejoin timer. Emits `state` when the public state changes. */
  #enter(next: JoinPhase, reason: ChannelStateReason): void {
    const prev = this.#phase;
    if (prev.kind === 'errored') this.#clearRejoin(prev);
    this.#phase = next;
    const from = PUBLIC_STATE[prev.kind];
    const to = PUBLIC_STATE[next.kind];
    if (from !== to) this.#lifecycle.emit('state', { from, to, reason, joinRef: this.joinRef });
  }

  #emitError(error: TetherClientError): void {
    this.#lifecycle.emit('error', error);
    this.#socket.emitError(error);
  }

  #clearRejoin(phase: { timer: unknown }): void {
    if (phase.timer !== null) this.#socket.clock.clearTimeout(phase.timer);
    phase.timer = null;
  }
}

function controlInit(socket: SocketLink, topic: string, event: string) {
  return { id: '', topic, event, seq: 0, body: '{}', bytes: 2, timeoutMs: socket.pushTimeoutMs, createdAt: socket.clock.now(), expiresAt: null, inOutbox: false };
}
