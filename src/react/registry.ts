/**
 * The channels the hooks share, one per topic per socket, counted by the components holding them. The first
 * holder creates and joins the channel; the last one to let go leaves it, but only after a zero-delay timer,
 * so StrictMode's mount-unmount-mount (and a component handing a topic to the next one in the same commit)
 * keeps the one channel instead of leaving and joining again.
 */
import { Presence, TetherClientError, type Channel, type ChannelOptions, type ChannelState, type JoinParams, type PresenceChannel, type Socket } from '../client/index.ts';
import type { UpdateBatcher } from './batch.ts';

/** What `useChannel` renders from: replaced (never mutated) on every change. */
export interface ChannelSnapshot {
  readonly channel: Channel<object, object> | null;
  readonly state: ChannelState;
  /** The channel's last error (a refused join, a join timeout); cleared when a join succeeds. */
  readonly error: TetherClientError | null;
}

export const NO_CHANNEL: ChannelSnapshot = Object.freeze({ channel: null, state: 'closed', error: null });

interface Entry {
  readonly topic: string;
  /** The first holder's params and options, compared with later holders' for the development warning. */
  readonly signature: string | null;
  readonly listeners: Set<() => void>;
  readonly unbind: (() => void)[];
  snapshot: ChannelSnapshot;
  holders: number;
  releaseTimer: ReturnType<typeof setTimeout> | null;
}

const presences = new WeakMap<object, Presence>();

/** The Presence of a channel: made when the registry creates the channel, so its first state is never missed. */
export function presenceOf(channel: PresenceChannel): Presence {
  let presence = presences.get(channel);
  if (!presence) presences.set(channel, (presence = new Presence(channel)));
  return presence;
}

export class ChannelRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #socket: Socket;
  readonly #batcher: UpdateBatcher;

  constructor(socket: Socket, batcher: UpdateBatcher) {
    this.#socket = socket;
    this.#batcher = batcher;
  }

  snapshot(topic: string): ChannelSnapshot {
    return this.#entries.get(topic)?.snapshot ?? NO_CHANNEL;
  }

  /** Holds the topic's channel (creating and joining it if nobody holds it) until the returned release runs. */
  acquire(topic: string, params: JoinParams | undefined, options: ChannelOptions | undefined, onChange: () => void): () => void {
    // Only the development warning reads it: production skips the canonical JSON on every mount.
    const signature = typeof params === 'function' || !isDevelopment() ? null : canonicalJson([params ?? {}, options ?? {}]);
    let entry = this.#entries.get(topic);
    if (entry) {
      if (entry.releaseTimer !== null) clearTimeout(entry.releaseTimer);
      entry.releaseTimer = null;
      if (entry.signature !== signature && entry.signature !== null && signature !== null) {
        console.warn(`tether-rt/react: useChannel("${topic}") was called with params or options that differ from those of the component that joined it first; the channel is shared and keeps the first ones (${entry.signature}). Use the same params everywhere, or another topic.`);
      }
    } else {
      entry = this.#create(topic, params, options, signature);
    }
    entry.holders += 1;
    const listener = () => this.#batcher.notify(onChange);
    entry.listeners.add(listener);
    let released = false;
    const held = entry;
    return () => {
      if (released) return;
      released = true;
      held.listeners.delete(listener);
      held.holders -= 1;
      if (held.holders === 0) held.releaseTimer = setTimeout(() => this.#drop(held), 0);
    };
  }

  /** Leaves every channel at once (the provider is going away). */
  dispose(): void {
    for (const entry of [...this.#entries.values()]) this.#drop(entry, true);
  }

  #create(topic: string, params: JoinParams | undefined, options: ChannelOptions | undefined, signature: string | null): Entry {
    const entry: Entry = { topic, signature, listeners: new Set(), unbind: [], snapshot: NO_CHANNEL, holders: 0, releaseTimer: null };
    this.#entries.set(topic, entry);
    let channel: Channel<object, object>;
    try {
      channel = this.#socket.channel<object, object>(topic, params, options);
    } catch (err) {
      const error = err instanceof TetherClientError ? err : new TetherClientError('channel_closed', `Could not create the channel "${topic}": ${String(err)}`, { topic, cause: err });
      entry.snapshot = { channel: null, state: 'closed', error };
      return entry;
    }
    const update = (next: Partial<ChannelSnapshot>) => {
      entry.snapshot = { ...entry.snapshot, ...next };
      for (const listener of [...entry.listeners]) listener();
    };
    presenceOf(channel);
    entry.unbind.push(
      channel.onLifecycle('state', ({ to }) => update({ state: to })),
      channel.onLifecycle('error', (error) => update({ error })),
      channel.onLifecycle('joined', () => update({ error: null })),
    );
    entry.snapshot = { channel, state: channel.state, error: null };
    channel.join();
    return entry;
  }

  #drop(entry: Entry, force = false): void {
    if (entry.releaseTimer !== null) clearTimeout(entry.releaseTimer);
    entry.releaseTimer = null;
    if ((entry.holders > 0 && !force) || this.#entries.get(entry.topic) !== entry) return;
    this.#entries.delete(entry.topic);
    for (const off of entry.unbind) off();
    const channel = entry.snapshot.channel;
    if (channel) {
      presences.get(channel)?.dispose();
      presences.delete(channel);
    }
    if (channel && !channel.isEnded) channel.leave();
  }
}

/** JSON with sorted keys, so `{a, b}` and `{b, a}` compare equal; functions (rejoin policies) drop out. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** True unless the bundler says production (it replaces `process.env.NODE_ENV`; a browser without it throws). */
export function isDevelopment(): boolean {
  try {
    return process.env.NODE_ENV !== 'production';
  } catch {
    return true;
  }
}
