/**
 * Which transport each connection attempt uses, with phoenix.js's long-poll fallback (`longPollFallbackMs`):
 * an attempt on the primary (WebSocket) transport falls back when it fails before opening, or when it has not
 * opened and answered a first heartbeat within the threshold. One refinement over phoenix.js: the switch sticks
 * only once long-poll has opened. A long-poll attempt that fails as well says the server (not the path) is
 * down, so after the retry delay the WebSocket is tried first again; a server restart does not leave a socket
 * on long-poll for good. When the WebSocket never passed the check and long-poll opened, a browser tab remembers
 * it in sessionStorage under phoenix.js's key, and later sockets in the tab start on long-poll.
 */
import type { Clock } from './clock.ts';
import { transportNameOf, type TransportFactory } from './transport.ts';

/** phoenix.js's sessionStorage key for "this tab falls back to long-poll". */
export const FALLBACK_MEMO_KEY = 'phx:fallback:LongPoll';

export interface FallbackHost {
  readonly clock: Clock;
  /** Sends a heartbeat over the open link; resolves when it is answered. */
  probe(): Promise<unknown>;
  /** The primary transport failed its check: end the current attempt or link and start one on long-poll now. */
  fallBack(why: string): void;
}

export class TransportPlan {
  readonly #primary: TransportFactory;
  readonly #fallback: TransportFactory | null;
  readonly #thresholdMs: number;
  readonly #host: FallbackHost;
  #onFallback = false;
  /** Long-poll has opened: every later attempt of this socket uses it. */
  #sticky = false;
  #primaryPassed = false;
  #current: TransportFactory;
  #generation = 0;
  #timer: unknown = null;

  constructor(primary: TransportFactory, fallback: TransportFactory | null, thresholdMs: number, host: FallbackHost) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#thresholdMs = thresholdMs;
    this.#host = host;
    this.#current = primary;
  }

  /** The transport of the current (or last) attempt: `websocket`, `longpoll`, or `custom`. */
  get name(): string {
    return transportNameOf(this.#current);
  }

  /** The factory of the current (or last) attempt, for a link opened beside it (a drain's handover). */
  get factory(): TransportFactory {
    return this.#current;
  }

  /** The factory for a new attempt. On the primary with a fallback, the threshold starts now. */
  begin(): TransportFactory {
    this.cancel();
    this.#generation += 1;
    if (this.#fallback && !this.#onFallback && readMemo()) this.#onFallback = this.#sticky = true;
    this.#current = this.#onFallback && this.#fallback ? this.#fallback : this.#primary;
    if (this.#watching) this.#arm(`the WebSocket did not open within ${this.#thresholdMs} ms`);
    return this.#current;
  }

  /** The attempt's link opened. On the primary, its first heartbeat must come back within the threshold. */
  opened(): void {
    if (!this.#fallback) return;
    if (this.#onFallback) {
      this.#sticky = true;
      if (!this.#primaryPassed) writeMemo();
      return;
    }
    const generation = this.#generation;
    this.#arm(`the WebSocket opened but its first heartbeat was not answered within ${this.#thresholdMs} ms`);
    this.#host.probe().then(
      () => {
        if (generation !== this.#generation) return;
        this.#primaryPassed = true;
        this.cancel();
      },
      () => {},
    );
  }

  /** The attempt failed before opening. True when the socket should retry at once on long-poll. */
  failedBeforeOpen(): boolean {
    this.cancel();
    if (!this.#fallback) return false;
    if (!this.#onFallback) return (this.#onFallback = true);
    if (!this.#sticky) this.#onFallback = false;
    return false;
  }

  /** The attempt ended some other way (or the socket stopped): the threshold no longer applies. */
  cancel(): void {
    if (this.#timer !== null) this.#host.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  get #watching(): boolean {
    return this.#fallback !== null && !this.#onFallback;
  }

  #arm(why: string): void {
    this.cancel();
    this.#timer = this.#host.clock.setTimeout(() => {
      this.#timer = null;
      this.#onFallback = true;
      this.#host.fallBack(why);
    }, this.#thresholdMs);
  }
}

/** The tab's sessionStorage, or null (Node, or a sandboxed page that may not use it). */
function sessionStore(): Pick<Storage, 'getItem' | 'setItem'> | null {
  try {
    return (globalThis as { sessionStorage?: Storage }).sessionStorage ?? null;
  } catch {
    return null;
  }
}

function readMemo(): boolean {
  try {
    return sessionStore()?.getItem(FALLBACK_MEMO_KEY) === 'true';
  } catch {
    return false;
  }
}

function writeMemo(): void {
  try {
    sessionStore()?.setItem(FALLBACK_MEMO_KEY, 'true');
  } catch {
    // Storage full or denied: the socket still stays on long-poll; only later sockets in the tab do not know.
  }
}
