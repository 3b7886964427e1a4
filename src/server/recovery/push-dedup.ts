/**
 * Effectively-once client pushes: a push that carries an outbox id runs its handler the first time the id is
 * seen; a resend of the same id (same client scope, same topic) gets the first run's outcome instead, and a
 * resend that arrives while the first run is still in progress waits for it.
 */
import type { Payload } from '../../protocol/frame.ts';
import { DedupWindow } from './dedup-window.ts';

/** What a handler produced for a push, as the server sent (or would have sent) it. */
export type PushOutcome =
  | { kind: 'reply'; status: string; response: Payload }
  | { kind: 'noreply' }
  /** The handler threw; a resend is answered with an error reply `{reason: "channel_crash"}`. */
  | { kind: 'crash' };

export type DedupDecision =
  /** First sight of this id: run the handler, then call `settle` exactly once with what it produced. */
  | { kind: 'run'; settle: (outcome: PushOutcome) => void }
  /** A resend: answer with this outcome (it resolves when the first run settles) and do not run the handler. */
  | { kind: 'duplicate'; outcome: Promise<PushOutcome> };

export interface PushDedupOptions {
  /** Ids remembered per client scope. Default 1024. */
  maxEntriesPerClient?: number;
  /** How long an id is remembered after it was last seen. Default 300000 (5 minutes). */
  ttlMs?: number;
  /** Client scopes remembered at once (least recently active forgotten first). Default 10000. */
  maxClients?: number;
  now?: () => number;
}

export const PUSH_DEDUP_DEFAULTS = { maxEntriesPerClient: 1024, ttlMs: 300_000, maxClients: 10_000 } as const;

interface Entry {
  outcome: PushOutcome | undefined;
  waiters: ((outcome: PushOutcome) => void)[] | undefined;
}

export class PushDeduplicator {
  readonly #clients: DedupWindow<DedupWindow<Entry>>;
  readonly #perClient: number;
  readonly #ttlMs: number;
  readonly #now: (() => number) | undefined;

  constructor(options: PushDedupOptions = {}) {
    this.#perClient = options.maxEntriesPerClient ?? PUSH_DEDUP_DEFAULTS.maxEntriesPerClient;
    this.#ttlMs = options.ttlMs ?? PUSH_DEDUP_DEFAULTS.ttlMs;
    this.#now = options.now;
    this.#clients = new DedupWindow({
      maxEntries: options.maxClients ?? PUSH_DEDUP_DEFAULTS.maxClients,
      ttlMs: this.#ttlMs,
      now: options.now,
    });
    // Validates the per-client limits up front rather than on the first push.
    this.#window();
  }

  /** Decides whether the push `id` from client `scope` on `topic` runs or is answered from memory. */
  begin(scope: string, topic: string, id: string): DedupDecision {
    let window = this.#clients.get(scope);
    if (window === undefined) {
      window = this.#window();
      this.#clients.set(scope, window);
    }
    const key = `${topic}\u0000${id}`;
    const seen = window.get(key);
    if (seen !== undefined) {
      if (seen.outcome !== undefined) return { kind: 'duplicate', outcome: Promise.resolve(seen.outcome) };
      return { kind: 'duplicate', outcome: new Promise((resolve) => (seen.waiters ??= []).push(resolve)) };
    }
    const entry: Entry = { outcome: undefined, waiters: undefined };
    window.set(key, entry);
    return {
      kind: 'run',
      settle: (outcome) => {
        if (entry.outcome !== undefined) return;
        entry.outcome = outcome;
        const waiters = entry.waiters;
        entry.waiters = undefined;
        if (waiters) for (const resolve of waiters) resolve(outcome);
      },
    };
  }

  /** Client scopes currently remembered. */
  get clientCount(): number {
    return this.#clients.size;
  }

  #window(): DedupWindow<Entry> {
    return new DedupWindow<Entry>({ maxEntries: this.#perClient, ttlMs: this.#ttlMs, now: this.#now });
  }
}
