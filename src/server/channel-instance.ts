/**
 * One joined topic on one connection: runs the definition's callbacks in order, turns their results into
 * Phoenix replies, and ends with Phoenix's exact frames (phx_close on graceful ends, phx_error on a crash).
 */
import { CloseCodes } from '../protocol/close-codes.ts';
import { Events, ReplyReasons } from '../protocol/events.ts';
import type { Frame, FrameMeta, JsonObject, Payload } from '../protocol/frame.ts';
import { closeFrame, crashFrame } from '../protocol/replies.ts';
import type { ChannelHost } from './channel-host.ts';
import type { BroadcastResult, ChannelDefinition, ChannelSocket, HandleInResult, LeaveReason, Reply, SocketRef } from './channel.ts';
import type { Subscriber } from './fanout.ts';
import type { Presence } from './presence.ts';
import { dedupScope } from './recovery/push-dedup.ts';
import { JoinReplay, PushDedup, speaksRecovery } from './recovery/channel-recovery.ts';
import type { Route } from './router.ts';
import type { SharedFrame } from './transport.ts';
import { asError, isThenable, nullProtoCopy } from './unknown.ts';

type State = 'joining' | 'joined' | 'closed';

/** The phx_error reason when broker messages were lost for good (see `resync`). */
const GAP_REASON = 'broker_gap';
/** The error reply's reason for a frame refused because the channel's inbound backlog is full. */
export const INBOUND_BACKLOG_FULL = 'inbound backlog full';

interface Queued {
  frame: Frame;
  size: number;
}

export class ChannelInstance implements ChannelSocket, Subscriber {
  readonly topic: string;
  readonly joinRef: string | null;
  readonly intercepts: ReadonlySet<string> | null;
  readonly route: Route;
  readonly positioned: boolean;
  state: State = 'joining';
  readonly #conn: ChannelHost;
  /** Set while a recovering join reads its history: live frames wait in it (docs/recovery.md). */
  #replay: JoinReplay | null = null;
  readonly #dedup: PushDedup | null;
  /** Copied from the connection's on first use: most channels never read them. */
  #assigns: Record<string, unknown> | undefined;
  /** Frames that arrived while a join or an async handler was still running (allocated when one does). */
  #queue: Queued[] | null = null;
  /** Sizes (as received) of the frames in `#queue`. */
  #queuedSize = 0;
  /** Frames refused in a row because the backlog was full; one more backlog's worth closes with 4003. */
  #refusals = 0;
  #busy = true;
  /** True while an async handler started by `#invoke` has not settled (it makes the channel idle itself). */
  #pending = false;
  #currentRef: string | null | undefined;

  constructor(conn: ChannelHost, route: Route, topic: string, joinRef: string | null) {
    this.#conn = conn;
    this.route = route;
    this.topic = topic;
    this.joinRef = joinRef;
    this.intercepts = route.intercepts;
    const recovery = speaksRecovery(conn.vsn, conn.connectParams);
    this.positioned = recovery && route.definition.history !== undefined;
    this.#dedup = recovery
      ? new PushDedup(conn.dedup, dedupScope(conn.socketId, conn.connectParams, conn.id), topic, conn.observers, (ref, status, response, meta) =>
          conn.sendReply(this.joinRef, ref, topic, { status, response }, meta),
        )
      : null;
  }

  get connectionId(): string {
    return this.#conn.id;
  }
  get id(): string | null {
    return this.#conn.socketId;
  }
  get vsn(): 1 | 2 {
    return this.#conn.vsn;
  }
  get origin(): string | null {
    return this.#conn.origin;
  }
  get sameOrigin(): boolean {
    return this.#conn.sameOrigin;
  }
  get connectParams(): Readonly<Record<string, string>> {
    return this.#conn.connectParams;
  }
  get assigns(): Record<string, unknown> {
    return (this.#assigns ??= nullProtoCopy(this.#conn.assigns));
  }
  get presence(): Presence {
    return this.#conn.presence;
  }

  push(event: string, payload: Payload): void {
    if (this.state !== 'closed') this.#conn.send({ joinRef: this.joinRef, ref: null, topic: this.topic, event, payload });
  }

  broadcast(event: string, payload: Payload): Promise<BroadcastResult> {
    return this.#conn.publish(this.topic, event, payload, false);
  }

  broadcastFrom(event: string, payload: Payload): Promise<BroadcastResult> {
    return this.#conn.publish(this.topic, event, payload, true);
  }

  socketRef(): SocketRef {
    if (this.#currentRef === undefined) {
      throw new Error('socketRef() is only available while handleIn runs (call it before the first await)');
    }
    return Object.freeze({ topic: this.topic, joinRef: this.joinRef, ref: this.#currentRef });
  }

  reply(ref: SocketRef, reply: Reply): void {
    this.#conn.sendReply(ref.joinRef, ref.ref, ref.topic, reply);
  }

  sendShared(frame: SharedFrame): void {
    if (this.#replay !== null && !this.#replay.admit(frame)) return;
    this.#conn.sendShared(frame);
  }

  handleOut(event: string, payload: Payload): void {
    const handleOut = this.route.definition.handleOut;
    if (!handleOut) {
      this.push(event, payload);
      return;
    }
    try {
      const result = handleOut(event, payload, this);
      if (isThenable(result)) result.then(undefined, (err: unknown) => this.crash(err, `handleOut ${event}`));
    } catch (err) {
      this.crash(err, `handleOut ${event}`);
    }
  }

  /** Runs the definition's join; `afterReply` runs once the reply is written (duplicate join's old close). */
  join(params: JsonObject, ref: string | null, afterReply: (() => void) | null, meta?: FrameMeta): void {
    if (this.positioned) this.#replay = new JoinReplay(meta);
    // Handler durations only: sub-millisecond resolution for the latency histogram; timers keep the injected clock.
    const started = performance.now();
    let result: ReturnType<ChannelDefinition['join']>;
    try {
      result = this.route.definition.join(this.topic, params, this);
    } catch (err) {
      this.#joinCrashed(err, ref, afterReply);
      return;
    }
    if (isThenable<Reply | undefined | void>(result)) {
      result.then(
        (r) => this.#joined(r, ref, afterReply, started),
        (err: unknown) => this.#joinCrashed(err, ref, afterReply),
      );
    } else {
      this.#joined(result, ref, afterReply, started);
    }
  }

  #joined(result: Reply | undefined | void, ref: string | null, afterReply: (() => void) | null, started: number): void {
    if (this.state === 'closed') return;
    const reply = result ?? { status: 'ok', response: {} };
    const hooks = this.#conn.observers.hooks;
    hooks.handled?.({ pattern: this.route.pattern, event: Events.join, durationMs: performance.now() - started, status: reply.status === 'ok' ? 'ok' : 'error' });
    if (reply.status !== 'ok') {
      this.state = 'closed';
      this.#conn.forget(this);
      this.#conn.sendReply(this.joinRef, ref, this.topic, reply);
      const reason = (reply.response as { reason?: unknown }).reason;
      hooks.joinRejected?.({ connectionId: this.#conn.id, topic: this.topic, pattern: this.route.pattern, reason: typeof reason === 'string' ? reason : reply.status });
      afterReply?.();
      return;
    }
    const subscribed = this.#conn.subscribe(this);
    const replay = this.#replay;
    const finish = () => {
      if (this.state === 'closed') return;
      this.state = 'joined';
      if (replay === null) this.#conn.sendReply(this.joinRef, ref, this.topic, reply);
      else if (!this.#replayed(replay, ref, reply)) {
        this.crash(new Error(`replay of ${this.topic} overflowed its live buffer`), 'replay');
        return;
      }
      hooks.channelJoined?.({ connectionId: this.#conn.id, topic: this.topic, pattern: this.route.pattern });
      afterReply?.();
      this.#afterJoin();
    };
    const ready =
      replay === null
        ? subscribed
        : (subscribed ?? Promise.resolve()).then(() =>
            replay.read(this.#conn.history, this.topic, (err) => hooks.error?.(err, `history ${this.topic}`)),
          );
    if (ready === null) finish();
    else ready.then(finish, (err: unknown) => this.crash(err, 'broker.subscribe'));
  }

  /** The join reply, the replayed entries and the live frames held meanwhile, in one write; false when the seam overflowed. */
  #replayed(replay: JoinReplay, ref: string | null, reply: Reply): boolean {
    this.#replay = null;
    let flushed = false;
    this.#conn.corked(() => {
      this.#conn.sendReply(this.joinRef, ref, this.topic, reply, replay.replyMeta());
      flushed = replay.flush(this.joinRef, this.topic, (f) => this.#conn.send(f), (f) => this.#conn.sendShared(f));
    });
    return flushed;
  }

  #afterJoin(): void {
    const afterJoin = this.route.definition.afterJoin;
    if (!afterJoin) {
      this.#idle();
      return;
    }
    try {
      const result = afterJoin(this);
      if (isThenable(result)) {
        result.then(() => this.#idle(), (err: unknown) => this.crash(err, 'afterJoin'));
        return;
      }
    } catch (err) {
      this.crash(err, 'afterJoin');
      return;
    }
    this.#idle();
  }

  #joinCrashed(err: unknown, ref: string | null, afterReply: (() => void) | null): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.#conn.forget(this);
    this.#conn.sendReply(this.joinRef, ref, this.topic, { status: 'error', response: { reason: ReplyReasons.joinCrashed } });
    const hooks = this.#conn.observers.hooks;
    hooks.error?.(asError(err), `join ${this.route.pattern} ${this.topic}`);
    hooks.handled?.({ pattern: this.route.pattern, event: Events.join, durationMs: 0, status: 'crash' });
    hooks.joinRejected?.({ connectionId: this.#conn.id, topic: this.topic, pattern: this.route.pattern, reason: ReplyReasons.joinCrashed });
    afterReply?.();
  }

  /**
   * A client message for this channel (join_ref already checked): handled now, or queued behind a running one
   * while the backlog has room (`inboundBacklogMessages` frames, `inboundBacklogBytes` of their size as received).
   */
  handle(frame: Frame, size: number): void {
    if (!this.#busy) {
      this.#refusals = 0;
      this.#run(frame);
      return;
    }
    const queue = (this.#queue ??= []);
    const limits = this.#conn.backlog;
    if (queue.length < limits.inboundBacklogMessages && this.#queuedSize + size <= limits.inboundBacklogBytes) {
      this.#refusals = 0;
      this.#queuedSize += size;
      queue.push({ frame, size });
      return;
    }
    const closed = ++this.#refusals > limits.inboundBacklogMessages;
    this.#conn.observers.hooks.inboundBacklogFull?.({ connectionId: this.#conn.id, topic: this.topic, event: frame.event, closed });
    if (closed) {
      this.#conn.close(CloseCodes.inboundBacklog, `inbound backlog: kept sending to ${this.topic} past ${limits.inboundBacklogMessages} frames / ${limits.inboundBacklogBytes} bytes waiting`);
      return;
    }
    if (frame.ref !== null) this.#conn.sendReply(this.joinRef, frame.ref, this.topic, { status: 'error', response: { reason: INBOUND_BACKLOG_FULL } });
  }

  #run(frame: Frame): void {
    if (frame.event === Events.leave) {
      this.#conn.sendReply(this.joinRef, frame.ref, this.topic, { status: 'ok', response: {} });
      this.stop('leave', true);
      return;
    }
    const handleIn = this.route.definition.handleIn;
    if (!handleIn) {
      this.#conn.sendReply(this.joinRef, frame.ref, this.topic, { status: 'error', response: { reason: `no handleIn on ${this.route.pattern}` } });
      return;
    }
    if (this.#dedup === null) return this.#invoke(handleIn, frame);
    if (!this.#dedup.shared) {
      if (this.#dedup.begin(frame)) this.#invoke(handleIn, frame);
      return;
    }
    const decided = this.#dedup.beginShared(frame);
    if (decided === true) return this.#invoke(handleIn, frame);
    if (decided === false) return;
    // The shared claim is a store round trip: later messages of this channel wait behind it, keeping order.
    this.#busy = true;
    decided.then(
      (run) => {
        if (run && this.state === 'closed') this.#dedup?.abandon(frame.ref);
        else if (run) this.#invoke(handleIn, frame);
        if (!this.#pending) this.#idle();
      },
      (err: unknown) => this.crash(err, `dedup claim ${frame.event}`),
    );
  }

  #invoke(handleIn: NonNullable<ChannelDefinition['handleIn']>, frame: Frame): void {
    const started = performance.now();
    let result: HandleInResult | Promise<HandleInResult>;
    this.#currentRef = frame.ref;
    try {
      result = handleIn(frame.event, frame.payload as Payload, this);
    } catch (err) {
      this.crash(err, `handleIn ${frame.event}`);
      return;
    } finally {
      this.#currentRef = undefined;
    }
    if (isThenable<HandleInResult>(result)) {
      this.#busy = true;
      this.#pending = true;
      result.then(
        (r) => {
          this.#pending = false;
          this.#replied(r, frame, started);
          this.#idle();
        },
        (err: unknown) => this.crash(err, `handleIn ${frame.event}`),
      );
    } else {
      this.#replied(result, frame, started);
    }
  }

  #replied(result: HandleInResult, frame: Frame, started: number): void {
    // Recorded even when the channel already ended: a resend on the next connection waits for this outcome.
    this.#dedup?.settle(frame.ref, result);
    if (this.state === 'closed') return;
    const hooks = this.#conn.observers.hooks;
    if (result) this.#conn.sendReply(this.joinRef, frame.ref, this.topic, result);
    hooks.handled?.({
      pattern: this.route.pattern,
      event: frame.event,
      durationMs: performance.now() - started,
      status: !result ? 'noreply' : result.status === 'ok' ? 'ok' : 'error',
    });
  }

  #idle(): void {
    this.#busy = false;
    const queue = this.#queue;
    while (queue !== null && !this.#busy && this.state !== 'closed' && queue.length > 0) {
      const next = queue.shift()!;
      this.#queuedSize -= next.size;
      this.#run(next.frame);
    }
  }

  /** A handler threw: the client gets phx_error, the push gets no reply, the connection lives on. */
  crash(err: unknown, context: string): void {
    this.#dedup?.crashed();
    if (this.state === 'closed') return;
    const hooks = this.#conn.observers.hooks;
    hooks.error?.(asError(err), `channel ${this.route.pattern} ${this.topic} ${context}`);
    hooks.handled?.({ pattern: this.route.pattern, event: context, durationMs: 0, status: 'crash' });
    this.stop('crash', false);
    this.#conn.send(crashFrame(this.joinRef, this.topic));
  }

  /**
   * The node lost messages of this topic that the history cannot give back: phx_error makes the client
   * rejoin (phoenix.js and Tether's client both do), and an opted-in client's join answers `recovered: false`.
   */
  resync(): void {
    if (this.state === 'closed') return;
    this.stop('gap', false);
    this.#conn.send({ joinRef: this.joinRef, ref: this.joinRef, topic: this.topic, event: Events.error, payload: { reason: GAP_REASON } });
  }

  /** Ends the channel; a graceful end (`notifyClose`) tells the client with phx_close. */
  stop(reason: LeaveReason, notifyClose: boolean): void {
    if (this.state === 'closed') return;
    const wasJoined = this.state === 'joined';
    this.state = 'closed';
    this.#queue = null;
    this.#queuedSize = 0;
    this.#conn.forget(this);
    const conn = this.#conn;
    // Teardown: a throw from one step is reported and the next still runs, so the channel always ends.
    this.#teardownStep('unsubscribe', () => conn.unsubscribe(this));
    this.#teardownStep('presence untrack', () => conn.presence.untrackAll(this));
    if (wasJoined) {
      this.#teardownStep(`terminate ${this.route.pattern}`, () => this.route.definition.terminate?.(reason, this));
      conn.observers.hooks.channelLeft?.({ connectionId: conn.id, topic: this.topic, pattern: this.route.pattern, reason });
    }
    if (notifyClose) conn.send(closeFrame(this.joinRef, this.topic));
  }

  /** One step of `stop`: a throw is reported (`what` and the topic) to the error hook and goes no further. */
  #teardownStep(what: string, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.#conn.observers.hooks.error?.(asError(err), `${what} ${this.topic}`);
    }
  }
}
