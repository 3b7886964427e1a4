/**
 * The per-node inbox both brokers share: sends, requests with timeouts, handlers, and their bounds. A driver
 * supplies only the transport (loop-back in memory, the node's own pub/sub channel on Redis) and hands every
 * envelope addressed to this node to `receive`.
 */
import { positiveInteger } from './bounds.ts';
import type { BrokerTimers } from './timers.ts';
import type { InboxContext, InboxErrorCode, InboxHandler, InboxListener, NodeInbox } from './types.ts';

export interface InboxOptions {
  /**
   * Largest data (UTF-8 bytes) of one message, request or answer; default 16 MiB, enough for a long-poll answer
   * that drains a session's queue at the server's default outbound hard cap (6 MiB of frames, up to twice that as
   * the poll's JSON).
   */
  maxMessageBytes?: number;
  /**
   * Requests this node waits on at once, and requests it answers at once (each bound on its own); default 10000.
   * Over it a request is refused at once with `busy`.
   */
  maxPendingRequests?: number;
}

export const INBOX_DEFAULTS = { maxMessageBytes: 16 * 1024 * 1024, maxPendingRequests: 10_000 } as const;

/** Longest wait a timer can hold (about 24.8 days); a longer timeout is clamped to it. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export class InboxError extends Error {
  override readonly name = 'InboxError';
  readonly code: InboxErrorCode;
  constructor(code: InboxErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * One inbox message as it travels: `s` a send, `q` a request, `a` an answer, `x` a refusal or failure whose
 * data is the reason (`InboxErrorCode` or `no_handler`). `id` pairs a request with its answer; `timeoutMs` is how
 * long the requester waits, so the answering node stops waiting too.
 */
export interface InboxEnvelope {
  to: string;
  from: string;
  type: 's' | 'q' | 'a' | 'x';
  kind: string;
  id: string;
  timeoutMs: number;
  data: string;
}

export interface InboxTransport {
  readonly nodeId: string;
  readonly timers: BrokerTimers;
  isRunning(): boolean;
  /** Puts the envelope in `envelope.to`'s inbox; resolves false when no node listens under that id. */
  deliver(envelope: InboxEnvelope): Promise<boolean>;
  onError(error: Error): void;
}

interface Waiting {
  node: string;
  timer: unknown;
  resolve(answer: string | null): void;
  reject(error: InboxError): void;
}

const REMOTE_CODES = new Set<string>(['too_large', 'busy', 'not_running', 'failed']);

export class Inbox implements NodeInbox {
  readonly maxMessageBytes: number;
  readonly maxPendingRequests: number;
  readonly #t: InboxTransport;
  readonly #listeners = new Map<string, InboxListener[]>();
  readonly #handlers = new Map<string, InboxHandler>();
  /** Requests this node sent, by id, until answered, timed out or closed. */
  readonly #waiting = new Map<string, Waiting>();
  /** Requests this node is answering: their abort controllers. */
  readonly #answering = new Set<AbortController>();
  #nextId = 0;

  constructor(transport: InboxTransport, options: InboxOptions = {}) {
    this.#t = transport;
    this.maxMessageBytes = positiveInteger('inbox', 'maxMessageBytes', options.maxMessageBytes, INBOX_DEFAULTS.maxMessageBytes);
    this.maxPendingRequests = positiveInteger('inbox', 'maxPendingRequests', options.maxPendingRequests, INBOX_DEFAULTS.maxPendingRequests);
  }

  /** Requests waiting for an answer, and requests being answered (for tests and metrics). */
  get pending(): { waiting: number; answering: number } {
    return { waiting: this.#waiting.size, answering: this.#answering.size };
  }

  send(node: string, kind: string, data: string): Promise<boolean> {
    const refused = this.#refusal(data);
    if (refused) return Promise.reject(refused);
    return this.#t.deliver({ to: node, from: this.#t.nodeId, type: 's', kind, id: '', timeoutMs: 0, data });
  }

  on(kind: string, listener: InboxListener): () => void {
    this.#listeners.set(kind, [...(this.#listeners.get(kind) ?? []), listener]);
    return () => {
      const list = (this.#listeners.get(kind) ?? []).filter((l) => l !== listener);
      if (list.length) this.#listeners.set(kind, list);
      else this.#listeners.delete(kind);
    };
  }

  handle(kind: string, handler: InboxHandler): () => void {
    if (this.#handlers.has(kind)) throw new Error(`inbox: kind ${JSON.stringify(kind)} already has a handler`);
    this.#handlers.set(kind, handler);
    return () => {
      if (this.#handlers.get(kind) === handler) this.#handlers.delete(kind);
    };
  }

  request(node: string, kind: string, data: string, timeoutMs: number): Promise<string | null> {
    if (!(timeoutMs > 0)) return Promise.reject(new TypeError(`inbox.request: timeoutMs must be a positive number, got ${timeoutMs}`));
    const refused = this.#refusal(data);
    if (refused) return Promise.reject(refused);
    if (this.#waiting.size >= this.maxPendingRequests) {
      return Promise.reject(new InboxError('busy', `inbox.request: ${this.maxPendingRequests} requests already wait for an answer (maxPendingRequests)`));
    }
    const wait = Math.min(Math.ceil(timeoutMs), MAX_TIMEOUT_MS);
    const id = (this.#nextId++).toString(36);
    return new Promise<string | null>((resolve, reject) => {
      const settle = () => {
        this.#t.timers.clearTimeout(waiting.timer);
        this.#waiting.delete(id);
      };
      const waiting: Waiting = {
        node,
        timer: this.#t.timers.setTimeout(() => {
          this.#waiting.delete(id);
          resolve(null);
        }, wait),
        resolve: (answer) => {
          settle();
          resolve(answer);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      this.#waiting.set(id, waiting);
      const envelope: InboxEnvelope = { to: node, from: this.#t.nodeId, type: 'q', kind, id, timeoutMs: wait, data };
      this.#t.deliver(envelope).then(
        (taken) => {
          if (!taken) this.#waiting.get(id)?.resolve(null);
        },
        (error: Error) => {
          this.#t.onError(error);
          this.#waiting.get(id)?.resolve(null);
        },
      );
    });
  }

  /** An envelope addressed to this node (the driver checked `to`). */
  receive(envelope: InboxEnvelope): void {
    if (Buffer.byteLength(envelope.data) > this.maxMessageBytes) {
      this.#t.onError(new InboxError('too_large', `inbox: dropped a ${envelope.kind} message from ${envelope.from} over maxMessageBytes`));
      if (envelope.type === 'q') this.#refuse(envelope, 'too_large');
      return;
    }
    switch (envelope.type) {
      case 's':
        this.#dispatch(envelope);
        return;
      case 'q':
        this.#answer(envelope);
        return;
      case 'a':
      case 'x':
        this.#settle(envelope);
    }
  }

  /** Pending requests resolve null; handlers still running are told to stop (their answers are dropped). */
  close(): void {
    for (const waiting of [...this.#waiting.values()]) waiting.resolve(null);
    for (const controller of [...this.#answering]) controller.abort();
    this.#answering.clear();
  }

  #refusal(data: string): Error | null {
    if (typeof data !== 'string') return new TypeError(`inbox: data must be a string, got ${typeof data}`);
    if (!this.#t.isRunning()) return new InboxError('not_running', 'inbox: the broker is not running');
    if (Buffer.byteLength(data) > this.maxMessageBytes) {
      return new InboxError('too_large', `inbox: data over maxMessageBytes (${this.maxMessageBytes})`);
    }
    return null;
  }

  #dispatch(envelope: InboxEnvelope): void {
    const list = this.#listeners.get(envelope.kind);
    if (!list) return;
    for (const listener of list) {
      try {
        listener(envelope.data, envelope.from);
      } catch (error) {
        this.#t.onError(error as Error);
      }
    }
  }

  #answer(request: InboxEnvelope): void {
    if (!this.#t.isRunning()) return; // closing: the requester's wait ends in null
    const handler = this.#handlers.get(request.kind);
    if (!handler) return this.#refuse(request, 'no_handler');
    if (this.#answering.size >= this.maxPendingRequests) return this.#refuse(request, 'busy');
    const controller = new AbortController();
    this.#answering.add(controller);
    const timer = this.#t.timers.setTimeout(() => controller.abort(), Math.min(request.timeoutMs, MAX_TIMEOUT_MS));
    const done = (type: 'a' | 'x', data: string) => {
      this.#t.timers.clearTimeout(timer);
      const live = this.#answering.delete(controller) && !controller.signal.aborted;
      if (live) this.#reply(request, type, data);
    };
    const context: InboxContext = { from: request.from, signal: controller.signal };
    controller.signal.addEventListener('abort', () => {
      this.#t.timers.clearTimeout(timer);
      this.#answering.delete(controller);
    });
    let answered: Promise<string>;
    try {
      answered = handler(request.data, context);
    } catch (error) {
      answered = Promise.reject(error);
    }
    Promise.resolve(answered).then(
      (answer) => {
        if (typeof answer === 'string' && Buffer.byteLength(answer) <= this.maxMessageBytes) return done('a', answer);
        this.#t.onError(new InboxError('too_large', `inbox: the ${request.kind} handler's answer is not a string of at most maxMessageBytes`));
        done('x', 'too_large');
      },
      (error: unknown) => {
        this.#t.onError(error instanceof Error ? error : new Error(String(error)));
        done('x', 'failed');
      },
    );
  }

  #refuse(request: InboxEnvelope, reason: InboxErrorCode | 'no_handler'): void {
    this.#reply(request, 'x', reason);
  }

  #reply(request: InboxEnvelope, type: 'a' | 'x', data: string): void {
    if (!this.#t.isRunning()) return;
    const envelope: InboxEnvelope = { to: request.from, from: this.#t.nodeId, type, kind: request.kind, id: request.id, timeoutMs: 0, data };
    this.#t.deliver(envelope).catch((error: Error) => this.#t.onError(error));
  }

  #settle(answer: InboxEnvelope): void {
    const waiting = this.#waiting.get(answer.id);
    // Only the node that was asked may answer (ids are per requester, so another node's answer is a stray).
    if (!waiting || waiting.node !== answer.from) return;
    if (answer.type === 'a') return waiting.resolve(answer.data);
    if (REMOTE_CODES.has(answer.data)) {
      return waiting.reject(new InboxError(answer.data as InboxErrorCode, `inbox: ${answer.from} answered ${answer.data}`));
    }
    waiting.resolve(null); // no_handler, or a reason this version does not know
  }
}
