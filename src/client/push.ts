/**
 * A message to the server and its outcome. A Push settles exactly once - ok, error, timeout, disconnected,
 * cancelled or rejected - and on settling it drops every callback and timer it holds, so nothing outlives it.
 * A Push is awaitable (it resolves with its result and never rejects); `channel.request()` is the rejecting form.
 */
import type { FrameMeta, JsonObject, Payload } from '../protocol/index.ts';
import type { Clock } from './clock.ts';
import type { TetherClientError } from './errors.ts';

export type PushResult<R = Payload> =
  | { status: 'ok'; response: R }
  /** The server replied with a status other than ok; `serverStatus` is it verbatim (usually "error"). */
  | { status: 'error'; response: Payload; serverStatus: string }
  /** No reply within the push's timeout after it was sent. */
  | { status: 'timeout' }
  /** The link or the channel was lost after the push was sent; whether the server ran it is unknown. */
  | { status: 'disconnected' }
  | { status: 'cancelled' }
  /** Never sent: outbox full, expired in the outbox, the store could not save it, or the channel is closed. */
  | { status: 'rejected'; error: TetherClientError };
export type PushStatus = PushResult['status'];

/** What a Push needs from whoever sends it (the channel and socket). */
export interface PushHost {
  readonly clock: Clock;
  /** Called once, after the result is set and before callbacks run: unregister everywhere. */
  released(push: Push<unknown>): void;
}

export const PushPhases = { queued: 'queued', sent: 'sent', settled: 'settled' } as const;
export type PushPhase = (typeof PushPhases)[keyof typeof PushPhases];

type Callback<R> = { status: PushStatus; fn: (value: never) => void } | { status: '*'; fn: (result: PushResult<R>) => void };

export class Push<R = Payload> implements PromiseLike<PushResult<R>> {
  /** Stable across resends and restarts; travels as `meta.id` on V2 JSON frames. */
  readonly id: string;
  readonly topic: string;
  readonly event: string;
  /** Order of acceptance, across the whole outbox (also the store's order). @internal */
  readonly seq: number;
  /** JSON text of the payload, or its bytes: encoded once, at `push()`. @internal */
  readonly body: string | Uint8Array;
  /** @internal */
  readonly bytes: number;
  readonly timeoutMs: number;
  readonly createdAt: number;
  /** Wall-clock ms after which an unsent message is dropped with `outbox_expired`; null = never. */
  readonly expiresAt: number | null;
  /**
   * Resolves true once the outbox store holds the message (at once for the memory and SQLite stores), false when
   * the write failed (the push then settles `rejected` with `store_failed`). Never rejects.
   */
  persisted: Promise<boolean> = Promise.resolve(true);
  /** An asynchronous store write is still running: the message is not sent before it finished. */
  storePending = false;
  /** The wire ref of the current send; null until sent. */
  ref: string | null = null;
  /** @internal */
  joinRef: string | null = null;
  phase: PushPhase = PushPhases.queued;
  result: PushResult<R> | null = null;
  /** Whether the message belongs to the outbox (app pushes) rather than being a join, leave or ping. @internal */
  readonly inOutbox: boolean;
  /** Tether meta to send with a control frame (a rejoin's `{since}`, docs/recovery.md). @internal */
  meta: JsonObject | undefined = undefined;
  /** When it was last sent, on the monotonic clock (ms); 0 until sent. */
  sentAt = 0;
  /** From the last send to its reply, in ms (sub-millisecond, monotonic clock); null until a reply settles it. */
  latencyMs: number | null = null;
  /** The meta element of the reply, set before the push settles. @internal */
  replyMeta: FrameMeta | undefined = undefined;

  #host: PushHost | null;
  #timer: unknown = null;
  #callbacks: Callback<R>[] | null = null;
  #waiters: ((result: PushResult<R>) => void)[] | null = null;

  /** @internal */
  constructor(
    host: PushHost,
    init: {
      id: string;
      topic: string;
      event: string;
      seq: number;
      body: string | Uint8Array;
      bytes: number;
      timeoutMs: number;
      createdAt: number;
      expiresAt: number | null;
      inOutbox: boolean;
    },
  ) {
    this.#host = host;
    this.id = init.id;
    this.topic = init.topic;
    this.event = init.event;
    this.seq = init.seq;
    this.body = init.body;
    this.bytes = init.bytes;
    this.timeoutMs = init.timeoutMs;
    this.createdAt = init.createdAt;
    this.expiresAt = init.expiresAt;
    this.inOutbox = init.inOutbox;
  }

  get settled(): boolean {
    return this.result !== null;
  }

  /** Phoenix-style: runs `fn` when the push settles with `status` (at once if it already has). */
  receive(status: 'ok', fn: (response: R) => void): this;
  receive(status: 'error', fn: (response: Payload) => void): this;
  receive(status: 'timeout' | 'disconnected' | 'cancelled', fn: () => void): this;
  receive(status: 'rejected', fn: (error: TetherClientError) => void): this;
  receive(status: PushStatus, fn: (value: never) => void): this {
    if (this.result) {
      if (this.result.status === status) fn(valueOf(this.result) as never);
      return this;
    }
    (this.#callbacks ??= []).push({ status, fn });
    return this;
  }

  /** Runs `fn` with the result, whatever it is. */
  onSettle(fn: (result: PushResult<R>) => void): this {
    if (this.result) fn(this.result);
    else (this.#callbacks ??= []).push({ status: '*', fn });
    return this;
  }

  then<A = PushResult<R>, B = never>(
    onFulfilled?: ((result: PushResult<R>) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const p = this.result
      ? Promise.resolve(this.result)
      : new Promise<PushResult<R>>((resolve) => (this.#waiters ??= []).push(resolve));
    return p.then(onFulfilled, onRejected);
  }

  /** Cancels a message that has not been sent yet. Returns false once it was sent or settled. */
  cancel(): boolean {
    if (this.phase !== PushPhases.queued || this.result) return false;
    this.settle({ status: 'cancelled' });
    return true;
  }

  /** Arms (or re-arms) the single timer this push owns. @internal */
  arm(ms: number, fn: () => void): void {
    const host = this.#host;
    if (!host || this.result) return;
    if (this.#timer !== null) host.clock.clearTimeout(this.#timer);
    this.#timer = host.clock.setTimeout(() => {
      this.#timer = null;
      fn();
    }, ms);
  }

  /** @internal */
  disarm(): void {
    if (this.#timer !== null && this.#host) this.#host.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Sets the result once; later calls are ignored and return false. @internal */
  settle(result: PushResult<R>): boolean {
    if (this.result) return false;
    this.result = result;
    this.phase = PushPhases.settled;
    this.disarm();
    const host = this.#host;
    this.#host = null;
    host?.released(this as Push<unknown>);
    const callbacks = this.#callbacks;
    const waiters = this.#waiters;
    this.#callbacks = null;
    this.#waiters = null;
    if (callbacks) {
      const value = valueOf(result);
      for (const c of callbacks) {
        try {
          if (c.status === '*') c.fn(result);
          else if (c.status === result.status) c.fn(value as never);
        } catch (err) {
          // An app callback that throws must not skip the others or unwind the socket's frame handling.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
    if (waiters) for (const w of waiters) w(result);
    return true;
  }
}

function valueOf(result: PushResult<unknown>): unknown {
  switch (result.status) {
    case 'ok':
    case 'error':
      return result.response;
    case 'rejected':
      return result.error;
    default:
      return undefined;
  }
}
