/** `socket.ping()` calls awaiting their heartbeat reply: each settles once, by reply, timeout or lost link. */
import type { Clock } from './clock.ts';
import { TetherClientError } from './errors.ts';

interface PendingPing {
  sentAt: number;
  resolve: (ms: number) => void;
  reject: (error: Error) => void;
  timer: unknown;
}

export class PingRegistry {
  readonly #clock: Required<Clock>;
  readonly #pending = new Map<string, PendingPing>();

  constructor(clock: Required<Clock>) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Waits for the reply to the heartbeat sent with `ref`. */
  wait(ref: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(ref);
        reject(new TetherClientError('push_timeout', `No reply to ping within ${timeoutMs} ms. The link may be dead; the heartbeat will confirm.`));
      }, timeoutMs);
      this.#pending.set(ref, { sentAt: this.#clock.monotonic(), resolve, reject, timer });
    });
  }

  /** Resolves the ping sent with `ref`; returns its round trip, or null when `ref` is not a ping. */
  answer(ref: string): number | null {
    const ping = this.#pending.get(ref);
    if (!ping) return null;
    this.#pending.delete(ref);
    this.#clock.clearTimeout(ping.timer);
    const rtt = Math.max(0, this.#clock.monotonic() - ping.sentAt);
    ping.resolve(rtt);
    return rtt;
  }

  rejectAll(reason: string): void {
    for (const [ref, ping] of this.#pending) {
      this.#clock.clearTimeout(ping.timer);
      this.#pending.delete(ref);
      ping.reject(new TetherClientError('disconnected', `The link closed (${reason}) before the ping was answered.`));
    }
  }
}
