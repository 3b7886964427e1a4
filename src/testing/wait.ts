/**
 * Waiting without sleeping: every part of the kit (test server, test clients, faulty links, the virtual
 * clock) reports that something changed, and `waitFor` re-checks its condition then, never on a poll timer.
 */
import { pushBounded } from './bounded-list.ts';

export interface WaitOptions {
  /** Real milliseconds before the wait fails. Default 5000. */
  timeoutMs?: number;
  /** What is awaited, for the failure message ("the client to reconnect"). */
  what?: string;
}

/** The last changes reported, shown when a wait times out. */
const RECENT_LIMIT = 8;
const recent: string[] = [];
const waiters = new Set<() => void>();
let scheduled = false;

/**
 * Tells waiting conditions to look again. The kit calls it on every frame, state change and link event; call it
 * yourself when a condition depends on something the kit cannot see (app state changed by your own timer).
 */
export function notifyChange(what?: string): void {
  if (what !== undefined) {
    pushBounded(recent, what, RECENT_LIMIT);
  }
  if (scheduled || waiters.size === 0) return;
  scheduled = true;
  // After the current I/O callback: the app's own handlers for the same frame have run by then.
  setImmediate(() => {
    scheduled = false;
    for (const check of [...waiters]) check();
  });
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/**
 * Resolves with the condition's first truthy value, checked now and after every change the kit reports;
 * rejects after `timeoutMs` with what was awaited and the last changes seen. A condition that throws rejects.
 */
export function waitFor<T>(condition: () => T | null | undefined | false, options: WaitOptions | string = {}): Promise<T> {
  const { timeoutMs = 5000, what = 'a condition' } = typeof options === 'string' ? { what: options } : options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const finish = () => {
      settled = true;
      waiters.delete(check);
      if (timer !== null) clearTimeout(timer);
    };
    const check = () => {
      if (settled) return;
      let value: T | null | undefined | false;
      try {
        value = condition();
      } catch (err) {
        finish();
        reject(err);
        return;
      }
      if (value) {
        finish();
        resolve(value);
      }
    };
    check();
    if (settled) return;
    waiters.add(check);
    timer = setTimeout(() => {
      finish();
      const seen = recent.length === 0 ? 'nothing' : recent.join('; ');
      reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}; last changes seen: ${seen}`));
    }, timeoutMs);
  });
}
