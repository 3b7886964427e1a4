/**
 * Effectively-once client pushes: a push that carries an outbox id runs its handler the first time the id is
 * seen; a resend of the same id (same client scope, same topic) gets the first run's outcome instead, and a
 * resend that arrives while the first run is still in progress waits for it.
 */
import type { DedupClaim, DedupOutcome, DedupStore } from '../../broker/types.ts';
import { extensionClientId } from '../../protocol/extension.ts';
import { asError } from '../unknown.ts';
import { DedupWindow } from './dedup-window.ts';

/**
 * The de-duplication scope of a connection: the app's `id(socket)` (if any) joined with the client-chosen
 * id, so one user's client cannot read another user's replies by reusing its client id. Without a client
 * id the scope is the connection itself, which still collapses resends within one connection.
 */
export function dedupScope(socketId: string | null | undefined, params: Readonly<Record<string, string>>, connectionId: string): string {
  return `${socketId ?? ''}\u0000${extensionClientId(params) ?? `conn:${connectionId}`}`;
}

/** What a handler produced for a push, as the server sent (or would have sent) it. */
export type PushOutcome = DedupOutcome;

/** Reasons of the error reply a resend gets when the shared store cannot give it the first run's outcome. */
export const SharedDedupReasons = {
  /** Another node's run did not finish within `sharedWaitMs`. */
  pending: 'dedup_pending',
  /** The shared store could not be reached; the handler was not run. */
  unavailable: 'dedup_unavailable',
} as const;

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
  /** Records shared by every node (the broker's `dedup`); without it the window is this process's alone. */
  store?: DedupStore;
  /** How long a claim on the shared store is held while its handler runs. Default 60000. */
  claimTtlMs?: number;
  /** How long a resend waits for another node's run before it is answered `dedup_pending`. Default 10000. */
  sharedWaitMs?: number;
  /** Resolves after `ms` (the wait between polls of another node's run); default a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Store failures (the push is answered `dedup_unavailable` or its outcome is not shared). */
  onError?: (error: Error) => void;
}

export const PUSH_DEDUP_DEFAULTS = { maxEntriesPerClient: 1024, ttlMs: 300_000, maxClients: 10_000 } as const;

/** Defaults of the options that only matter with a shared `store`. */
const SHARED_DEDUP_DEFAULTS = { claimTtlMs: 60_000, sharedWaitMs: 10_000 } as const;

const POLL_FIRST_MS = 10;
const POLL_MAX_MS = 200;

function errorOutcome(reason: string): PushOutcome {
  return { kind: 'reply', status: 'error', response: { reason } };
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Entry {
  outcome: PushOutcome | undefined;
  waiters: ((outcome: PushOutcome) => void)[] | undefined;
}

export class PushDeduplicator {
  readonly #clients: DedupWindow<DedupWindow<Entry>>;
  readonly #perClient: number;
  readonly #ttlMs: number;
  readonly #now: (() => number) | undefined;
  readonly #store: DedupStore | undefined;
  readonly #claimTtlMs: number;
  readonly #waitMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #onError: (error: Error) => void;

  constructor(options: PushDedupOptions = {}) {
    this.#store = options.store;
    this.#claimTtlMs = options.claimTtlMs ?? SHARED_DEDUP_DEFAULTS.claimTtlMs;
    this.#waitMs = options.sharedWaitMs ?? SHARED_DEDUP_DEFAULTS.sharedWaitMs;
    this.#sleep = options.sleep ?? realSleep;
    this.#onError = options.onError ?? (() => {});
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

  /** True when ids are shared across nodes: call `beginShared` (one store round trip) instead of `begin`. */
  get shared(): boolean {
    return this.#store !== undefined;
  }

  /**
   * `begin` across nodes: a resend this process already knows is answered from memory as by `begin`;
   * otherwise one claim on the shared store decides. A claim still running on another node is polled (backoff
   * from 10 to 200 ms) for up to `sharedWaitMs`, then answered with an error reply `{reason: "dedup_pending"}`.
   */
  async beginShared(scope: string, topic: string, id: string): Promise<DedupDecision> {
    const local = this.begin(scope, topic, id);
    const store = this.#store;
    if (store === undefined || local.kind === 'duplicate') return local;
    const key = `${topic}\u0000${id}`;
    let claim: DedupClaim;
    try {
      claim = await store.claim(scope, key, this.#claimTtlMs);
    } catch (error) {
      return this.#unresolved(scope, key, local.settle, SharedDedupReasons.unavailable, error);
    }
    if (claim.state === 'new') {
      return {
        kind: 'run',
        settle: (outcome) => {
          local.settle(outcome);
          store.complete(scope, key, outcome, this.#ttlMs).catch((error: unknown) => this.#onError(asError(error)));
        },
      };
    }
    if (claim.state === 'done') {
      local.settle(claim.outcome);
      return { kind: 'duplicate', outcome: Promise.resolve(claim.outcome) };
    }
    return { kind: 'duplicate', outcome: this.#await(store, scope, key, local.settle) };
  }

  async #await(store: DedupStore, scope: string, key: string, settle: (outcome: PushOutcome) => void): Promise<PushOutcome> {
    const now = this.#now ?? Date.now;
    const deadline = now() + this.#waitMs;
    let delay = POLL_FIRST_MS;
    try {
      while (now() < deadline) {
        await this.#sleep(Math.min(delay, Math.max(1, deadline - now())));
        delay = Math.min(delay * 2, POLL_MAX_MS);
        const claim = await store.claim(scope, key, this.#claimTtlMs);
        if (claim.state === 'new') {
          // The other node's claim expired and this poll took it over; give it back for the client's next resend.
          await store.release(scope, key);
          break;
        }
        if (claim.state === 'done') {
          settle(claim.outcome);
          return claim.outcome;
        }
      }
    } catch (error) {
      return this.#unresolved(scope, key, settle, SharedDedupReasons.unavailable, error).outcome;
    }
    return this.#unresolved(scope, key, settle, SharedDedupReasons.pending, undefined).outcome;
  }

  /** Answers this push (and same-node resends waiting on it) with an error and forgets the id so a later resend retries. */
  #unresolved(scope: string, key: string, settle: (outcome: PushOutcome) => void, reason: string, error: unknown): { kind: 'duplicate'; outcome: Promise<PushOutcome> } {
    if (error !== undefined) this.#onError(asError(error));
    const outcome = errorOutcome(reason);
    settle(outcome);
    this.#clients.get(scope)?.delete(key);
    return { kind: 'duplicate', outcome: Promise.resolve(outcome) };
  }

  /** Client scopes currently remembered. */
  get clientCount(): number {
    return this.#clients.size;
  }

  #window(): DedupWindow<Entry> {
    return new DedupWindow<Entry>({ maxEntries: this.#perClient, ttlMs: this.#ttlMs, now: this.#now });
  }
}
