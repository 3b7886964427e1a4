/**
 * Phoenix's long-poll transport behind the same seam as a WebSocket, for networks whose proxies refuse WebSocket
 * upgrades. Plain `fetch` (Node and browsers, no Node modules): a GET opens the session (`410` + token), then one
 * GET at a time waits for messages; sends are batched into one ndjson POST at a time, the rest queued (bounded)
 * until it is answered. The socket above keeps its state machine, heartbeat, outbox and recovery unchanged.
 */
import { boundedClock, systemClock, type Clock } from './clock.ts';
import { authTokenFromProtocols, utf8Length } from './endpoint.ts';
import { decodeMessage, encodeLine, longPollUrl, parseLongPollBody, withSessionToken, type LongPollBody } from './longpoll-wire.ts';
import { DEFAULT_MAX_FRAME_BYTES, type Transport, type TransportClose, type TransportFactory, type TransportHandlers } from './transport.ts';

export interface LongPollTransportOptions {
  /** Extra request headers (subject to CORS in a browser). */
  headers?: Record<string, string>;
  /** Default: the global `fetch`. Give another one for a proxy agent, TLS options or instrumentation. */
  fetch?: typeof globalThis.fetch;
  /**
   * How long one request may go unanswered, ms. A poll is answered within the server's window (10 s on Phoenix
   * and Tether), so past this the server or the path is gone: the link closes (1006) and the socket reconnects.
   * Default 20000 (phoenix.js's `longpollerTimeout`).
   */
  requestTimeoutMs?: number;
  /** Frames in one POST; the rest wait for the next. Default 100 (phoenix.js's batch size). */
  maxBatchFrames?: number;
  /** Bytes in one POST body (a bigger single frame goes alone). Default 1 MiB. */
  maxBatchBytes?: number;
  /**
   * Frames queued while a POST is in flight. Over this (or `maxQueuedBytes`) the transport closes the link with
   * 1013: pushes in flight settle `disconnected`, and outbox messages are sent again after the rejoin. A single
   * frame on an empty queue always goes. Default 1000.
   */
  maxQueuedFrames?: number;
  /** Bytes queued while a POST is in flight (see `maxQueuedFrames`). Default 4 MiB. */
  maxQueuedBytes?: number;
  /** Largest answer body read, bytes; over it the link closes with 1009 (`frame_too_large`). Default 16 MiB. */
  maxResponseBytes?: number;
  /** Largest frame accepted inside an answer; over it the link closes with 1009. Default 8 MiB (the socket's). */
  maxFrameBytes?: number;
  /**
   * Send the session token in the `X-Phoenix-Longpoll-Token` header as well as the `token` query parameter.
   * Default true. Turn off for a cross-origin server whose CORS preflight does not allow the header.
   */
  sessionTokenHeader?: boolean;
  /** Timers for `requestTimeoutMs`. Default the system clock. */
  clock?: Clock;
}

export const LONGPOLL_DEFAULTS = {
  requestTimeoutMs: 20_000,
  maxBatchFrames: 100,
  maxBatchBytes: 1024 * 1024,
  maxQueuedFrames: 1000,
  maxQueuedBytes: 4 * 1024 * 1024,
  maxResponseBytes: 16 * 1024 * 1024,
} as const;

/** Phoenix's close code for a long-poll session the server no longer has (phoenix.js reports the same). */
export const SESSION_GONE_CODE = 3410;

export function longPollTransport(options: LongPollTransportOptions = {}): TransportFactory {
  const factory: TransportFactory = (url, protocols, handlers) => new LongPollTransport(url, protocols, handlers, options);
  return Object.assign(factory, { transportName: 'longpoll' });
}

type Answer = { ok: true; body: LongPollBody } | { ok: false; close: TransportClose };

class LongPollTransport implements Transport {
  readonly #url: string;
  readonly #authToken: string | null;
  readonly #handlers: TransportHandlers;
  readonly #o: Required<Omit<LongPollTransportOptions, 'headers' | 'fetch' | 'clock'>>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #clock: Clock;
  readonly #headers: Record<string, string>;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  #session: string | null = null;
  /** The poll in flight (aborted on close); a POST is not aborted, so what was queued before close() still goes. */
  #poll: AbortController | null = null;
  readonly #deliveries = new Set<ReturnType<typeof setTimeout>>();
  readonly #queue: string[] = [];
  /** UTF-8 bytes of each queued line, measured once in send() for the bound and the batching. */
  readonly #lineBytes: number[] = [];
  #queuedBytes = 0;
  #postBytes = 0;
  #posting = false;
  #batchTimer: ReturnType<typeof setTimeout> | null = null;
  #done = false;

  constructor(url: string, protocols: string[], handlers: TransportHandlers, options: LongPollTransportOptions) {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    this.#url = longPollUrl(url, base);
    this.#authToken = authTokenFromProtocols(protocols);
    this.#handlers = handlers;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#clock = boundedClock(options.clock ?? systemClock);
    this.#headers = { ...options.headers, accept: 'application/json' };
    this.#o = {
      requestTimeoutMs: options.requestTimeoutMs ?? LONGPOLL_DEFAULTS.requestTimeoutMs,
      maxBatchFrames: Math.max(1, options.maxBatchFrames ?? LONGPOLL_DEFAULTS.maxBatchFrames),
      maxBatchBytes: options.maxBatchBytes ?? LONGPOLL_DEFAULTS.maxBatchBytes,
      maxQueuedFrames: options.maxQueuedFrames ?? LONGPOLL_DEFAULTS.maxQueuedFrames,
      maxQueuedBytes: options.maxQueuedBytes ?? LONGPOLL_DEFAULTS.maxQueuedBytes,
      maxResponseBytes: options.maxResponseBytes ?? LONGPOLL_DEFAULTS.maxResponseBytes,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      sessionTokenHeader: options.sessionTokenHeader ?? true,
    };
    // After the caller has its Transport object, as a WebSocket's events follow its constructor.
    queueMicrotask(() => {
      if (this.#state === 'connecting') void this.#pollLoop();
    });
  }

  /** Bytes queued for the next POST plus the POST in flight. */
  get bufferedAmount(): number {
    return this.#queuedBytes + this.#postBytes;
  }

  send(data: string | Uint8Array): void {
    if (this.#state !== 'open') return;
    const line = encodeLine(data);
    const bytes = utf8Length(line);
    // A frame bigger than maxQueuedBytes on an empty queue still goes (alone), or its resend would loop forever.
    if (this.#queue.length > 0 && (this.#queue.length + 1 > this.#o.maxQueuedFrames || this.#queuedBytes + bytes > this.#o.maxQueuedBytes)) {
      const error = `the long-poll send queue is full (${this.#queue.length} frames, ${this.#queuedBytes} bytes; maxQueuedFrames ${this.#o.maxQueuedFrames}, maxQueuedBytes ${this.#o.maxQueuedBytes}) while the server is slow to take POSTs`;
      this.#end({ code: 1013, reason: 'send queue full', opened: true, error });
      return;
    }
    this.#queue.push(line);
    this.#lineBytes.push(bytes);
    this.#queuedBytes += bytes;
    // Everything sent in this task goes in one POST, as phoenix.js batches back-to-back pushes.
    if (!this.#posting && this.#batchTimer === null) this.#batchTimer = setTimeout(() => void this.#postLoop(), 0);
  }

  close(code = 1005, reason = ''): void {
    if (this.#done) return;
    const opened = this.#state === 'open';
    this.#end({ code, reason, opened }, false);
  }

  #closed(): boolean {
    return this.#state === 'closed';
  }

  // ---- receiving ----

  async #pollLoop(): Promise<void> {
    // The open handler may close the transport before the next poll, as the caller may before the first.
    while (!this.#closed()) {
      const controller = new AbortController();
      this.#poll = controller;
      const answer = await this.#request('GET', undefined, controller);
      if (this.#poll === controller) this.#poll = null;
      if (this.#closed()) return;
      if (!answer.ok) return this.#end(answer.close);
      const { status, token, messages } = answer.body;
      const opened = this.#state === 'open';
      if (!opened) {
        if (status === 410 && token !== null) {
          this.#session = token;
          this.#state = 'open';
          this.#handlers.open();
          continue;
        }
        if (status === 403) return this.#end({ code: 1008, reason: 'forbidden', opened: false, status: 403, error: 'the server refused the connect (403)' });
        return this.#end({ code: 1011, reason: '', opened: false, error: `the server answered the first long-poll request with status ${status}` });
      }
      if (token !== null) this.#session = token;
      if (status === 200) this.#deliver(messages);
      else if (status === 410) return this.#serverClosed({ code: SESSION_GONE_CODE, reason: 'session_gone', opened: true });
      // A resumed session the server could not find becomes a new connect there, which may be refused: on
      // Phoenix 1.7 the session token shadows the app's `token` param, so this is no verdict on the credentials.
      else if (status === 403) return this.#serverClosed({ code: 1008, reason: 'forbidden', opened: true, status: 403 });
      else if (status !== 204) return this.#serverClosed({ code: 1011, reason: 'internal server error', opened: true, error: `long-poll status ${status}` });
    }
  }

  /** One macrotask per message, as a WebSocket delivers them: code awaiting a reply runs before the next message. */
  #deliver(messages: string[]): void {
    for (const message of messages) {
      const timer = setTimeout(() => {
        this.#deliveries.delete(timer);
        if (this.#done) return;
        let frame: string | Uint8Array;
        try {
          frame = decodeMessage(message);
        } catch {
          // Neither JSON nor base64: hand it on as text, so the socket counts it as an invalid frame.
          frame = message;
        }
        const bytes = typeof frame === 'string' ? utf8Length(frame) : frame.byteLength;
        if (bytes > this.#o.maxFrameBytes) {
          this.#end({ code: 1009, reason: '', opened: true, frameTooLarge: true, error: `the server sent a frame of ${bytes} bytes, over maxFrameBytes (${this.#o.maxFrameBytes} bytes)` });
          return;
        }
        this.#handlers.message(frame, bytes);
      }, 0);
      this.#deliveries.add(timer);
    }
  }

  // ---- sending ----

  async #postLoop(): Promise<void> {
    this.#batchTimer = null;
    if (this.#posting) return;
    this.#posting = true;
    while (this.#queue.length > 0) {
      let count = 0;
      let bytes = 0;
      while (count < this.#queue.length && count < this.#o.maxBatchFrames) {
        const next = this.#lineBytes[count]! + (count > 0 ? 1 : 0);
        if (count > 0 && bytes + next > this.#o.maxBatchBytes) break;
        bytes += next;
        count += 1;
      }
      const batch = this.#queue.splice(0, count);
      this.#lineBytes.splice(0, count);
      const batchBytes = bytes - (count - 1);
      this.#queuedBytes -= batchBytes;
      this.#postBytes = batchBytes;
      const answer = await this.#request('POST', batch.join('\n'), new AbortController());
      this.#postBytes = 0;
      // After close(), what was queued before it is still delivered, but nothing more is reported.
      if (this.#state === 'closed') {
        if (this.#done && answer.ok && answer.body.status === 200) continue;
        break;
      }
      if (!answer.ok) return this.#end(answer.close);
      const status = answer.body.status;
      if (status === 410) return this.#serverClosed({ code: SESSION_GONE_CODE, reason: 'session_gone', opened: true });
      if (status !== 200) return this.#serverClosed({ code: 1011, reason: 'internal server error', opened: true, error: `long-poll POST status ${status}` });
    }
    this.#posting = false;
  }

  // ---- requests ----

  async #request(method: 'GET' | 'POST', body: string | undefined, controller: AbortController): Promise<Answer> {
    const opened = this.#state === 'open';
    const headers: Record<string, string> = { ...this.#headers };
    if (this.#authToken !== null) headers['x-phoenix-authtoken'] = this.#authToken;
    if (this.#session !== null && this.#o.sessionTokenHeader) headers['x-phoenix-longpoll-token'] = this.#session;
    if (body !== undefined) headers['content-type'] = 'application/x-ndjson';
    let timedOut = false;
    const timer = this.#clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#o.requestTimeoutMs);
    try {
      const res = await this.#fetch(withSessionToken(this.#url, this.#session), { method, headers, body, signal: controller.signal, cache: 'no-store' });
      const text = await readBounded(res, this.#o.maxResponseBytes, controller);
      if (text === null) return { ok: false, close: { code: 1009, reason: '', opened, frameTooLarge: true, error: `a long-poll answer was over maxResponseBytes (${this.#o.maxResponseBytes} bytes)` } };
      if (res.status === 204 && text === '') return { ok: true, body: { status: 204, token: null, messages: [] } };
      if (res.status !== 200) return { ok: false, close: { code: 1006, reason: '', opened, status: res.status, error: `the long-poll ${method} was answered with HTTP ${res.status}` } };
      try {
        return { ok: true, body: parseLongPollBody(text) };
      } catch (err) {
        return { ok: false, close: { code: 1011, reason: '', opened, error: `the long-poll ${method} answer is not Phoenix's: ${(err as Error).message}` } };
      }
    } catch (err) {
      const error = timedOut ? `no answer to the long-poll ${method} within ${this.#o.requestTimeoutMs} ms` : `the long-poll ${method} failed: ${describe(err)}`;
      return { ok: false, close: { code: 1006, reason: '', opened, error } };
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  // ---- ending ----

  /** The server ended the session: the close follows the messages already received, as on a WebSocket. */
  #serverClosed(info: TransportClose): void {
    this.#state = 'closed';
    this.#poll?.abort();
    const timer = setTimeout(() => {
      this.#deliveries.delete(timer);
      this.#end(info);
    }, 0);
    this.#deliveries.add(timer);
  }

  /**
   * Stops polling, drops undelivered messages, and reports the close once. The send queue is dropped too, except
   * on the caller's close() of an open link: like a WebSocket's buffer, what was sent before close() still goes.
   */
  #end(info: TransportClose, dropQueue = true): void {
    if (this.#done) return;
    this.#done = true;
    this.#state = 'closed';
    this.#poll?.abort();
    this.#poll = null;
    for (const timer of this.#deliveries) clearTimeout(timer);
    this.#deliveries.clear();
    if (this.#batchTimer !== null) clearTimeout(this.#batchTimer);
    this.#batchTimer = null;
    if (dropQueue || !info.opened) {
      this.#queue.length = 0;
      this.#lineBytes.length = 0;
      this.#queuedBytes = 0;
    } else if (!this.#posting && this.#queue.length > 0) {
      void this.#postLoop();
    }
    queueMicrotask(() => this.#handlers.close(info));
  }
}

/** Reads a body up to `max` bytes; null (and the request aborted) when it is longer. */
async function readBounded(res: Response, max: number, controller: AbortController): Promise<string | null> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    controller.abort();
    return null;
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let total = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      controller.abort();
      return null;
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}
