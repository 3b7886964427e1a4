/**
 * Phoenix Presence: who is on a topic, replicated between nodes through the broker. Shapes match Phoenix
 * exactly: `list(topic)` is `{key: {metas: [{…meta, phx_ref}]}}`, and changes reach subscribers as
 * `presence_diff` broadcasts `{joins, leaves}` (an update is a join of the new meta and a leave of the old one
 * in the same diff). Each node applies its own changes at once and replays other nodes' changes from the
 * broker, so every node computes the same diffs for its own subscribers.
 */
import { randomBytes } from 'node:crypto';
import type { Broker, PresenceChange } from '../broker/types.ts';
import { Events } from '../protocol/events.ts';
import type { JsonObject, Payload } from '../protocol/frame.ts';
import type { Clock } from './clock.ts';
import { asError } from './unknown.ts';

/** A tracked meta as clients see it: the app's fields plus `phx_ref` (and `phx_ref_prev` after an update). */
export type PresenceMeta = JsonObject & { phx_ref: string };
/**
 * Keyed by presence key, a client-controlled string (`__proto__` included): always a null-prototype object,
 * so every key is plain data; `JSON.stringify` writes it like any object.
 */
export type PresenceList = { [key: string]: { metas: PresenceMeta[] } };

/** An empty presence list with no prototype, safe to index with any key. */
export function emptyPresenceList(): PresenceList {
  return Object.create(null) as PresenceList;
}

interface Entry {
  topic: string;
  key: string;
  node: string;
  meta: PresenceMeta;
  /** The local channel that tracked it; null for entries replicated from other nodes. */
  owner: PresenceOwner | null;
}

/**
 * What presence needs of the channel that tracks an entry: its topic, and its identity (the entries a channel
 * owns end with it). Every `ChannelSocket` is one.
 */
export interface PresenceOwner {
  readonly topic: string;
}

type PendingDiff = { joins: PresenceList; leaves: PresenceList };

export interface PresenceOptions {
  broker: Broker;
  clock: Clock;
  /** Sends a payload to this node's subscribers of a topic. */
  deliver(topic: string, event: string, payload: Payload): void;
  onError(err: Error, context: string): void;
  /** Diffs are collected for this long before one `presence_diff` goes out; 0 = at the end of the current task. */
  batchMs: number;
}

/** Phoenix's phx_ref: url-safe base64 of 12 random bytes, 16 characters. */
export function newPhxRef(): string {
  return randomBytes(12).toString('base64url');
}

export class Presence {
  /** topic -> key -> phx_ref -> entry */
  readonly #topics = new Map<string, Map<string, Map<string, Entry>>>();
  readonly #owned = new Map<PresenceOwner, Set<Entry>>();
  readonly #pending = new Map<string, PendingDiff>();
  #flushScheduled = false;
  readonly #options: PresenceOptions;

  /** @internal */
  constructor(options: PresenceOptions) {
    this.#options = options;
  }

  /** Tracks `key` on the socket's topic until untracked or the channel ends. Returns the meta's phx_ref. */
  track(socket: PresenceOwner, key: string, meta: JsonObject = {}): string {
    const entry: Entry = {
      topic: socket.topic,
      key,
      node: this.#options.broker.nodeId,
      meta: { ...meta, phx_ref: newPhxRef() },
      owner: socket,
    };
    this.#add(entry);
    this.#replicate(entry, 'join');
    return entry.meta.phx_ref;
  }

  /** Replaces the meta this socket tracks under `key` (a new phx_ref, with phx_ref_prev = the old one). */
  update(socket: PresenceOwner, key: string, meta: JsonObject | ((old: PresenceMeta) => JsonObject)): string {
    const old = this.#ownedEntry(socket, key);
    if (!old) throw new Error(`presence update: ${socket.topic} has no presence tracked under "${key}" by this socket`);
    const next = typeof meta === 'function' ? meta(old.meta) : meta;
    const entry: Entry = { ...old, meta: { ...next, phx_ref: newPhxRef(), phx_ref_prev: old.meta.phx_ref } };
    this.#remove(old);
    this.#add(entry);
    this.#replicate(old, 'leave');
    this.#replicate(entry, 'join');
    return entry.meta.phx_ref;
  }

  untrack(socket: PresenceOwner, key: string): void {
    const entry = this.#ownedEntry(socket, key);
    if (!entry) return;
    this.#remove(entry);
    this.#replicate(entry, 'leave');
  }

  /** Untracks everything a channel tracked; the server calls this whenever a channel ends. @internal */
  untrackAll(socket: PresenceOwner): void {
    const owned = this.#owned.get(socket);
    if (!owned) return;
    // A teardown path: one entry that fails must neither stop the others nor escape to the caller.
    for (const entry of [...owned]) {
      try {
        this.#remove(entry);
        this.#replicate(entry, 'leave');
      } catch (err) {
        this.#options.onError(asError(err), `presence untrack ${entry.topic}`);
      }
    }
    this.#owned.delete(socket);
  }

  list(topic: string): PresenceList {
    const out = emptyPresenceList();
    const keys = this.#topics.get(topic);
    if (!keys) return out;
    for (const [key, refs] of keys) out[key] = { metas: Array.from(refs.values(), (e) => e.meta) };
    return out;
  }

  /** Applies a change another node published (this node's own changes were applied when made). @internal */
  readonly applyRemote = (change: PresenceChange): void => {
    if (change.node === this.#options.broker.nodeId) return;
    if (change.kind === 'join') {
      this.#add({ topic: change.topic, key: change.key, node: change.node, meta: change.meta as PresenceMeta, owner: null });
      return;
    }
    const existing = this.#topics.get(change.topic)?.get(change.key)?.get(change.meta.phx_ref);
    if (existing) this.#remove(existing);
  };

  /** Announces every presence of a node that died as a leave. @internal */
  readonly nodeDown = (node: string): void => {
    for (const keys of this.#topics.values()) {
      for (const refs of keys.values()) {
        for (const entry of refs.values()) if (entry.node === node) this.#remove(entry);
      }
    }
  };

  /** Drops other nodes' entries for a topic this node no longer subscribes to (they would go stale). @internal */
  forgetRemote(topic: string): void {
    const keys = this.#topics.get(topic);
    if (!keys) return;
    for (const refs of keys.values()) {
      for (const entry of refs.values()) if (entry.owner === null) this.#remove(entry, false);
    }
  }

  #ownedEntry(socket: PresenceOwner, key: string): Entry | undefined {
    const owned = this.#owned.get(socket);
    if (owned) for (const e of owned) if (e.key === key) return e;
    return undefined;
  }

  #add(entry: Entry): void {
    let keys = this.#topics.get(entry.topic);
    if (!keys) this.#topics.set(entry.topic, (keys = new Map()));
    let refs = keys.get(entry.key);
    if (!refs) keys.set(entry.key, (refs = new Map()));
    if (refs.has(entry.meta.phx_ref)) return;
    refs.set(entry.meta.phx_ref, entry);
    if (entry.owner) {
      let owned = this.#owned.get(entry.owner);
      if (!owned) this.#owned.set(entry.owner, (owned = new Set()));
      owned.add(entry);
    }
    this.#diff(entry, 'joins');
  }

  #remove(entry: Entry, announce = true): void {
    const keys = this.#topics.get(entry.topic);
    const refs = keys?.get(entry.key);
    if (!keys || !refs || !refs.delete(entry.meta.phx_ref)) return;
    if (refs.size === 0) keys.delete(entry.key);
    if (keys.size === 0) this.#topics.delete(entry.topic);
    if (entry.owner) {
      const owned = this.#owned.get(entry.owner);
      owned?.delete(entry);
      if (owned?.size === 0) this.#owned.delete(entry.owner);
    }
    if (announce) this.#diff(entry, 'leaves');
  }

  #replicate(entry: Entry, kind: 'join' | 'leave'): void {
    this.#options.broker
      .publishPresence({ topic: entry.topic, key: entry.key, kind, meta: entry.meta })
      .catch((err: Error) => this.#options.onError(err, `presence ${kind} ${entry.topic}`));
  }

  #diff(entry: Entry, side: 'joins' | 'leaves'): void {
    let pending = this.#pending.get(entry.topic);
    if (!pending) this.#pending.set(entry.topic, (pending = { joins: emptyPresenceList(), leaves: emptyPresenceList() }));
    (pending[side][entry.key] ??= { metas: [] }).metas.push(entry.meta);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    if (this.#options.batchMs > 0) this.#options.clock.setTimeout(this.#flush, this.#options.batchMs);
    else queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const pending = [...this.#pending];
    this.#pending.clear();
    // Runs from a timer or a microtask: a throw here would reach the process, so each topic is guarded.
    for (const [topic, diff] of pending) {
      try {
        this.#options.deliver(topic, Events.presenceDiff, diff);
      } catch (err) {
        this.#options.onError(asError(err), `presence diff ${topic}`);
      }
    }
  };
}
