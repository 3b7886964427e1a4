/**
 * One long-poll session: the TransportSocket behind its Connection (as ws-adapter.ts wraps a ws socket). What
 * the core sends is queued until a poll takes it; `bufferedAmount` is the queue's bytes, so the outbound budget,
 * the hard cap and the slow-consumer close apply as on a socket, and the queue's length has its own bound.
 * At most one poll waits at a time: a newer poll answers the older one at once (empty, 204) and takes its place.
 */
import { CloseCodes } from '../../protocol/close-codes.ts';
import type { Clock } from '../clock.ts';
import type { Connection } from '../connection.ts';
import type { SharedFrame, TransportSocket } from '../transport.ts';
import { asError } from '../unknown.ts';
import { GONE, pollBody } from './answers.ts';

export interface SessionLimits {
  windowMs: number;
  maxQueuedMessages: number;
}

interface WaitingPoll {
  resolve(body: string): void;
  timer: unknown;
}

/** A V2 binary frame travels in a poll's `messages` as its base64 text (as Phoenix does). */
function asText(data: string | Uint8Array): string {
  return typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

export class LongPollSession implements TransportSocket {
  readonly id: string;
  readonly token: string;
  /** Set right after the core opens the connection, before any request can reach the session. */
  connection!: Connection;
  readonly #clock: Clock;
  readonly #limits: SessionLimits;
  /** Told when the session is over and nothing is left to collect, so its owner forgets it. */
  readonly #onEnded: (session: LongPollSession) => void;
  #queue: string[] = [];
  #queuedBytes = 0;
  #poll: WaitingPoll | null = null;
  #flushScheduled = false;
  /** Requests (polls) in flight; the session is idle only when none is. */
  #inFlight = 0;
  #lastActivity: number;
  /** Closed by the server (its queue may still be collected) or cut; no frame goes in or out any more. */
  #closed = false;
  #reported = false;

  constructor(id: string, token: string, clock: Clock, limits: SessionLimits, onEnded: (session: LongPollSession) => void) {
    this.id = id;
    this.token = token;
    this.#clock = clock;
    this.#limits = limits;
    this.#onEnded = onEnded;
    this.#lastActivity = clock.now();
  }

  get closed(): boolean {
    return this.#closed;
  }

  // TransportSocket

  send(data: string | Uint8Array): void {
    if (typeof data === 'string') this.#enqueue(data, Buffer.byteLength(data));
    else this.#enqueue(asText(data), base64Length(data.byteLength));
  }

  sendShared(frame: SharedFrame): void {
    // A binary broadcast is base64-encoded once for all its long-poll recipients; its bytes are known either way.
    const text = typeof frame.data === 'string' ? frame.data : (frame.base64 ??= asText(frame.data));
    this.#enqueue(text, this.sharedWireBytes(frame));
  }

  sharedWireBytes(frame: SharedFrame): number {
    return typeof frame.data === 'string' ? frame.byteLength : base64Length(frame.byteLength);
  }

  get bufferedAmount(): number {
    return this.#queuedBytes;
  }

  /** The server closed the connection: a waiting poll gets what is queued (or 410); the next request gets 410. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#poll !== null) this.#answer(this.#queue.length > 0 ? this.#takeMessages() : GONE);
    if (this.#queue.length === 0) this.#onEnded(this);
    this.#report(code, reason);
  }

  /** Cut at once: nothing more is delivered. */
  terminate(): void {
    this.#end(1006, 'long-poll session cut');
  }

  // Requests

  /**
   * A GET: answers at once when messages are queued, else when one arrives or the window ends (204). When
   * `signal` aborts first (the HTTP request went away), the poll is withdrawn and its messages stay queued.
   */
  poll(signal?: AbortSignal): Promise<string> {
    this.#touch();
    if (this.#closed) {
      const body = this.#queue.length > 0 ? this.#takeMessages() : GONE;
      this.#onEnded(this);
      return Promise.resolve(body);
    }
    if (this.#poll !== null) this.#answer(pollBody(204, this.token, []));
    if (this.#queue.length > 0) return Promise.resolve(this.#takeMessages());
    this.#inFlight++;
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        if (this.#poll?.timer === timer) this.#answer(pollBody(204, this.token, []));
      }, this.#limits.windowMs);
      const onAbort = () => {
        if (this.#poll !== waiting) return;
        this.#poll = null;
        this.#clock.clearTimeout(timer);
        this.#inFlight--;
        this.#touch();
        resolve(GONE);
      };
      const waiting: WaitingPoll = {
        resolve: (body) => {
          signal?.removeEventListener('abort', onAbort);
          this.#inFlight--;
          this.#touch();
          resolve(body);
        },
        timer,
      };
      this.#poll = waiting;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Frames of a POST, in order; stops when one of them closed the session. */
  receive(frames: ReadonlyArray<string | Uint8Array>): void {
    this.#touch();
    for (const frame of frames) {
      if (this.#closed) return;
      this.connection.receive(frame);
    }
  }

  /**
   * The owner's sweep: true when the session has had no request in flight and none for `idleMs`. Until then the
   * connection counts as alive: a long-poll client polls instead of sending heartbeats, so `longPollIdleMs`
   * stands in for `idleTimeoutMs`.
   */
  idleSince(now: number, idleMs: number): boolean {
    if (this.#inFlight === 0 && now - this.#lastActivity >= idleMs) return true;
    if (!this.#closed) this.connection.touch();
    return false;
  }

  /** No poll for too long: the session ends as a socket that dropped. */
  expire(idleMs: number): void {
    this.#end(1006, `long-poll session expired: no poll for ${idleMs} ms`);
  }

  #end(code: number, reason: string): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#poll !== null) this.#answer(GONE);
    this.#onEnded(this);
    this.#report(code, reason);
  }

  /** The connection learns of the end once, after the current call returns (as a ws 'close' event arrives). */
  #report(code: number, reason: string): void {
    if (this.#reported) return;
    this.#reported = true;
    queueMicrotask(() => {
      // A throw here would be uncaught: it is reported, and the process goes on.
      try {
        this.connection.closed(code, reason);
      } catch (err) {
        this.connection.observers.hooks.error?.(asError(err), `close ${this.connection.id}`);
      }
    });
  }

  #touch(): void {
    this.#lastActivity = this.#clock.now();
    if (!this.#closed) this.connection.touch();
  }

  /** `bytes`: the UTF-8 length of `text`, which the caller knows (base64 is ASCII; a shared frame carries it). */
  #enqueue(text: string, bytes: number): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#limits.maxQueuedMessages) {
      const conn = this.connection;
      conn.observers.hooks.slowConsumer?.({ connectionId: conn.id, bufferedBytes: this.#queuedBytes, cause: 'hardCap' });
      conn.close(CloseCodes.slowConsumer, `slow consumer: ${this.#queue.length} messages queued for the long-poll session (longPollMaxQueuedMessages)`);
      return;
    }
    this.#queue.push(text);
    this.#queuedBytes += bytes;
    if (this.#poll !== null && !this.#flushScheduled) {
      // Frames sent in the same task (the replies to one POST, a presence state and diff) go out in one answer.
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#poll !== null && this.#queue.length > 0) this.#answer(this.#takeMessages());
  };

  #takeMessages(): string {
    const body = pollBody(200, this.token, this.#queue);
    this.#queue = [];
    this.#queuedBytes = 0;
    return body;
  }

  #answer(body: string): void {
    const poll = this.#poll;
    if (poll === null) return;
    this.#poll = null;
    this.#clock.clearTimeout(poll.timer);
    poll.resolve(body);
  }
}
