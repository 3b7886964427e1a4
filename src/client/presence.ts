/**
 * Phoenix's client-side Presence (../shared/phoenix-protocol.md §5), for apps coming from phoenix.js: the same
 * `syncState` / `syncDiff` / `list`, the same `onJoin` / `onLeave` / `onSync` callbacks, the same order of
 * keys and callbacks, and diffs held back until the `presence_state` of the current join arrives (after a
 * rejoin). Unlike phoenix.js it never mutates the payloads it is given (they are shared with other handlers)
 * and every sync produces a new state object, so a UI can compare states by identity.
 *
 * Presence keys are chosen by clients (a user name), so every object indexed by key has a null prototype
 * (a user named `__proto__` or `constructor` is a key like any other). Null-prototype objects rather than
 * Maps: their key order is exactly phoenix.js's (integer-like keys first), so lists and callbacks match it.
 */
import { Events, type JsonObject, type JsonValue } from '../protocol/index.ts';

/** A tracked meta: the app's fields plus `phx_ref` (and `phx_ref_prev` after a server-side update). */
export type PresenceMeta = JsonObject & { phx_ref: string; phx_ref_prev?: string };

/** Everything one key has on the topic: one meta per tracked connection (a user in two tabs has two). */
export interface PresenceEntry<M extends PresenceMeta = PresenceMeta> {
  metas: M[];
  /** Fields a server's `fetch/2` adds beside `metas`. */
  [field: string]: JsonValue | M[] | undefined;
}

/** key -> entry. States built here have a null prototype; the wire's plain objects are read by own keys only. */
export type PresenceState<M extends PresenceMeta = PresenceMeta> = { [key: string]: PresenceEntry<M> };

/** The payload of `presence_diff`. */
export interface PresenceDiff<M extends PresenceMeta = PresenceMeta> {
  joins: PresenceState<M>;
  leaves: PresenceState<M>;
}

/** `current` is the key's entry before the join (undefined for a new key); `joined` holds the new metas. */
export type PresenceJoinCallback<M extends PresenceMeta = PresenceMeta> = (key: string, current: PresenceEntry<M> | undefined, joined: PresenceEntry<M>) => void;
/** `current` is the key's entry after the leave (no metas left = the key is gone); `left` holds the metas that left. */
export type PresenceLeaveCallback<M extends PresenceMeta = PresenceMeta> = (key: string, current: PresenceEntry<M>, left: PresenceEntry<M>) => void;

/**
 * What Presence needs from a channel: its join_ref and `on`. A Tether `Channel` of any event map fits; `on`
 * is typed `never` here because each channel types it by its own event map, which need not name the
 * presence events.
 */
export interface PresenceChannel {
  readonly joinRef: string | null;
  on(event: never, callback: never): () => void;
}

type Listen = (event: string, callback: (payload: never) => void) => () => void;

export interface PresenceOptions {
  /** Event names, for servers that rename them. Default `{state: 'presence_state', diff: 'presence_diff'}`. */
  events?: { state: string; diff: string };
  /**
   * How many diffs are held while waiting for the current join's state. Default 1000. Past it the oldest
   * held diff is dropped (counted in `droppedDiffs`): the state that ends the wait was computed after it,
   * so the oldest diffs are the ones it most likely already contains.
   */
  maxPendingDiffs?: number;
}

export const PRESENCE_DEFAULTS = { maxPendingDiffs: 1000 } as const;

const noop = (): void => {};

export class Presence<M extends PresenceMeta = PresenceMeta> {
  #current: PresenceState<M> = Object.create(null) as PresenceState<M>;
  #pendingDiffs: PresenceDiff<M>[] = [];
  #syncedJoinRef: string | null = null;
  #joinCallback: PresenceJoinCallback<M> = noop;
  #leaveCallback: PresenceLeaveCallback<M> = noop;
  #syncCallback: () => void = noop;
  readonly #listeners = new Set<() => void>();
  readonly #unbind: (() => void)[];
  readonly #maxPendingDiffs: number;
  #dropped = 0;
  readonly #channel: PresenceChannel;

  constructor(channel: PresenceChannel, options: PresenceOptions = {}) {
    this.#channel = channel;
    const events = options.events ?? { state: Events.presenceState, diff: Events.presenceDiff };
    this.#maxPendingDiffs = Math.max(0, options.maxPendingDiffs ?? PRESENCE_DEFAULTS.maxPendingDiffs);
    const on = channel.on.bind(channel) as Listen;
    this.#unbind = [
      on(events.state, ((state: unknown) => this.#receiveState(state)) as (payload: never) => void),
      on(events.diff, ((diff: unknown) => this.#receiveDiff(diff)) as (payload: never) => void),
    ];
  }

  /** The current state (a new object after every sync; do not mutate it). */
  get state(): Readonly<PresenceState<M>> {
    return this.#current;
  }

  /** Held diffs dropped because more than `maxPendingDiffs` arrived before the state. */
  get droppedDiffs(): number {
    return this.#dropped;
  }

  /** Sets the join callback (one at a time, as in phoenix.js). */
  onJoin(callback: PresenceJoinCallback<M>): void {
    this.#joinCallback = callback;
  }

  /** Sets the leave callback (one at a time, as in phoenix.js). */
  onLeave(callback: PresenceLeaveCallback<M>): void {
    this.#leaveCallback = callback;
  }

  /** Sets the callback run after every applied state or diff (one at a time, as in phoenix.js). */
  onSync(callback: () => void): void {
    this.#syncCallback = callback;
  }

  /** Adds a listener run after every sync, beside `onSync`; returns its remover. For UI bindings. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** One item per key, in phoenix.js's order: the entry itself, or what `by(key, entry)` returns. */
  list(): PresenceEntry<M>[];
  list<T>(by: (key: string, entry: PresenceEntry<M>) => T): T[];
  list<T>(by?: (key: string, entry: PresenceEntry<M>) => T): (T | PresenceEntry<M>)[] {
    return Presence.list(this.#current, by as (key: string, entry: PresenceEntry<M>) => T);
  }

  /** True until the state of the channel's current join has arrived; diffs are held meanwhile. */
  inPendingSyncState(): boolean {
    return this.#syncedJoinRef === null || this.#syncedJoinRef !== this.#channel.joinRef;
  }

  /** Stops listening to the channel. */
  dispose(): void {
    for (const off of this.#unbind) off();
    this.#listeners.clear();
    this.#pendingDiffs = [];
  }

  #receiveState(payload: unknown): void {
    const state = wellFormed<M>(payload);
    this.#syncedJoinRef = this.#channel.joinRef;
    // What a callback's list() sees is phoenix.js's: the old state during the state's own callbacks, then the
    // state being built during each diff's.
    this.#current = Presence.syncState(this.#current, state, this.#joinCallback, this.#leaveCallback);
    const held = this.#pendingDiffs;
    this.#pendingDiffs = [];
    for (const diff of held) this.#applyLive(diff);
    this.#synced();
  }

  #receiveDiff(payload: unknown): void {
    const { joins, leaves } = isRecord(payload) ? payload : {};
    const diff: PresenceDiff<M> = { joins: wellFormed<M>(joins), leaves: wellFormed<M>(leaves) };
    if (this.inPendingSyncState()) {
      this.#pendingDiffs.push(diff);
      if (this.#pendingDiffs.length > this.#maxPendingDiffs) {
        this.#pendingDiffs.shift();
        this.#dropped += 1;
      }
      return;
    }
    this.#applyLive(diff);
    this.#synced();
  }

  /** Applies a diff to a fresh copy that is already the current state, so the state's identity changes per sync. */
  #applyLive(diff: PresenceDiff<M>): void {
    this.#current = copyOf(this.#current);
    applyDiff(this.#current, diff, this.#joinCallback, this.#leaveCallback);
  }

  #synced(): void {
    this.#syncCallback();
    for (const listener of [...this.#listeners]) listener();
  }

  // ---- phoenix.js's static API; none of these mutate their arguments ----

  /** The state after replacing `state` with the server's full `newState`, with callbacks for what changed. */
  static syncState<M extends PresenceMeta>(state: PresenceState<M>, newState: PresenceState<M>, onJoin?: PresenceJoinCallback<M>, onLeave?: PresenceLeaveCallback<M>): PresenceState<M> {
    const joins = nullProto<PresenceEntry<M>>();
    const leaves = nullProto<PresenceEntry<M>>();
    for (const key of keysOf(state)) {
      if (!Object.hasOwn(newState, key)) leaves[key] = state[key];
    }
    for (const key of keysOf(newState)) {
      const next = newState[key];
      if (!Object.hasOwn(state, key)) {
        joins[key] = next;
        continue;
      }
      const cur = state[key];
      const newRefs = new Set(next.metas.map((m) => m.phx_ref));
      const curRefs = new Set(cur.metas.map((m) => m.phx_ref));
      const joined = next.metas.filter((m) => !curRefs.has(m.phx_ref));
      const left = cur.metas.filter((m) => !newRefs.has(m.phx_ref));
      if (joined.length > 0) joins[key] = { ...next, metas: joined };
      if (left.length > 0) leaves[key] = { ...cur, metas: left };
    }
    return Presence.syncDiff(state, { joins, leaves }, onJoin, onLeave);
  }

  /** The state after applying one `{joins, leaves}` diff, with callbacks per key joined and left. */
  static syncDiff<M extends PresenceMeta>(state: PresenceState<M>, diff: PresenceDiff<M>, onJoin?: PresenceJoinCallback<M>, onLeave?: PresenceLeaveCallback<M>): PresenceState<M> {
    const next = copyOf(state);
    applyDiff(next, diff, onJoin, onLeave);
    return next;
  }

  /** One item per key of `state`: the entry, or what `by(key, entry)` returns. */
  static list<M extends PresenceMeta, T = PresenceEntry<M>>(state: PresenceState<M>, by?: (key: string, entry: PresenceEntry<M>) => T): T[] {
    const choose = by ?? ((_key: string, entry: PresenceEntry<M>) => entry as T);
    return keysOf(state).map((key) => choose(key, state[key]));
  }
}

/** Applies `diff` to `next` in place (its entries are replaced, never mutated), phoenix.js's syncDiff. */
function applyDiff<M extends PresenceMeta>(next: PresenceState<M>, diff: PresenceDiff<M>, onJoin: PresenceJoinCallback<M> = noop, onLeave: PresenceLeaveCallback<M> = noop): void {
  const joins = diff.joins ?? {};
  const leaves = diff.leaves ?? {};
  for (const key of keysOf(joins)) {
    const joined = joins[key];
    const cur = Object.hasOwn(next, key) ? next[key] : undefined;
    const entry: PresenceEntry<M> = { ...joined, metas: [...joined.metas] };
    if (cur) {
      const joinedRefs = new Set(joined.metas.map((m) => m.phx_ref));
      entry.metas.unshift(...cur.metas.filter((m) => !joinedRefs.has(m.phx_ref)));
    }
    next[key] = entry;
    onJoin(key, cur, joined);
  }
  for (const key of keysOf(leaves)) {
    if (!Object.hasOwn(next, key)) continue;
    const left = leaves[key];
    const refs = new Set(left.metas.map((m) => m.phx_ref));
    const entry: PresenceEntry<M> = { ...next[key], metas: next[key].metas.filter((m) => !refs.has(m.phx_ref)) };
    next[key] = entry;
    onLeave(key, entry, left);
    if (entry.metas.length === 0) delete next[key];
  }
}

function copyOf<M extends PresenceMeta>(state: PresenceState<M>): PresenceState<M> {
  const next = nullProto<PresenceEntry<M>>();
  for (const key of keysOf(state)) next[key] = state[key];
  return next;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * The entries of a payload that have the shape Presence relies on (`{metas: [{phx_ref: string}]}`), in the
 * payload's key order; anything else a server sends is skipped rather than thrown on in a socket's handler.
 */
function wellFormed<M extends PresenceMeta>(value: unknown): PresenceState<M> {
  const out = nullProto<PresenceEntry<M>>();
  if (!isRecord(value)) return out;
  for (const key of keysOf(value)) {
    const entry = value[key];
    if (isRecord(entry) && Array.isArray(entry.metas) && entry.metas.every((m) => isRecord(m) && typeof m.phx_ref === 'string')) out[key] = entry as PresenceEntry<M>;
  }
  return out;
}

function nullProto<V>(): { [key: string]: V } {
  return Object.create(null) as { [key: string]: V };
}

/** Own keys only, in object order (integer-like keys first, then insertion order), as phoenix.js iterates. */
function keysOf(obj: object): string[] {
  return Object.getOwnPropertyNames(obj);
}
