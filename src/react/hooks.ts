/** The channel hooks: `useChannel` (shared, ref-counted channels), `useEvent` and `usePresence`. */
import { useCallback, useEffect, useInsertionEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { Presence, TetherClientError, type Channel, type ChannelOptions, type ChannelState, type DefaultEvents, type Frame, type JoinParams, type PresenceChannel, type PresenceEntry, type PresenceMeta, type PresenceState } from '../client/index.ts';
import { useRequiredRuntime, useTetherRuntime } from './provider.ts';
import { presenceOf } from './registry.ts';

export interface UseChannelResult<E extends object, R extends object> {
  /** The shared channel; null only on the very first render of the first component on the topic, or if it could not be created. */
  channel: Channel<E, R> | null;
  state: ChannelState;
  /** `channel.push`: queued until joined. Throws `channel_closed` while `channel` is null. */
  push: Channel<E, R>['push'];
  /** `channel.request`: resolves with the ok response, rejects with a TetherClientError otherwise. */
  request: Channel<E, R>['request'];
  /** The channel's last error (a refused join, a join timeout); null again once a join succeeds. */
  error: TetherClientError | null;
}

/**
 * Joins `topic` while the component is mounted (the channel is shared by every component on the topic: the
 * first one's params and options win) and leaves it when the last one unmounts. Type it with the client's
 * event maps: `useChannel<RoomEvents, RoomReplies>('room:lobby', {name})`.
 */
export function useChannel<E extends object = DefaultEvents, R extends object = DefaultEvents>(topic: string, params?: JoinParams, options?: ChannelOptions): UseChannelResult<E, R> {
  const { registry } = useRequiredRuntime('useChannel()');
  const latest = useRef({ params, options });
  // Before the subscribe below (a passive effect) reads them; never written during render.
  useInsertionEffect(() => {
    latest.current = { params, options };
  });
  const subscribe = useCallback((onChange: () => void) => registry.acquire(topic, latest.current.params, latest.current.options, onChange), [registry, topic]);
  const read = useCallback(() => registry.snapshot(topic), [registry, topic]);
  const snapshot = useSyncExternalStore(subscribe, read, read);
  const channel = snapshot.channel as Channel<E, R> | null;
  const push = useCallback(
    ((event, payload, pushOptions) => required(channel, topic).push(event, payload, pushOptions)) as Channel<E, R>['push'],
    [channel, topic],
  );
  const request = useCallback(
    ((event, payload, pushOptions) => (channel ? channel.request(event, payload, pushOptions) : Promise.reject(notCreated(topic)))) as Channel<E, R>['request'],
    [channel, topic],
  );
  return { channel, state: snapshot.state, push, request, error: snapshot.error };
}

/**
 * Calls `handler` for every `event` on `channel` while the component is mounted. The latest `handler` is
 * always the one called (no stale closures, no resubscribing when it changes). Under a provider in `frame`
 * mode the calls are batched (in arrival order), so the state updates a burst makes render once.
 */
export function useEvent<E extends object, R extends object, K extends keyof E & string>(channel: Channel<E, R> | null | undefined, event: K, handler: (payload: E[K], frame: Frame) => void): void {
  const batcher = useTetherRuntime()?.batcher ?? null;
  const latest = useRef(handler);
  // Runs before any effect or batched delivery of this commit, and (unlike a layout effect) quietly on a server.
  useInsertionEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    if (!channel) return undefined;
    let active = true;
    const call = (payload: E[K], frame: Frame) => {
      if (active) latest.current(payload, frame);
    };
    const off = channel.on(event, (payload, frame) => (batcher ? batcher.deliver(() => call(payload, frame)) : call(payload, frame)));
    return () => {
      active = false;
      off();
    };
  }, [channel, event, batcher]);
}

/** One key of a presence list: its metas (one per tab or device) and the whole entry (fields a server's fetch adds). */
export interface PresenceItem<M extends PresenceMeta = PresenceMeta> {
  key: string;
  metas: M[];
  entry: PresenceEntry<M>;
}

const EMPTY_STATE = Object.freeze(Object.create(null)) as PresenceState;

/**
 * Who is on `channel`'s topic, kept in sync by the client's Presence helper (diffs held until the current
 * join's state): `[{key, metas, entry}]` in phoenix.js's order, or whatever `by(key, entry)` returns per key.
 */
export function usePresence<M extends PresenceMeta = PresenceMeta>(channel: PresenceChannel | null | undefined): PresenceItem<M>[];
export function usePresence<M extends PresenceMeta, T>(channel: PresenceChannel | null | undefined, by: (key: string, entry: PresenceEntry<M>) => T): T[];
export function usePresence<M extends PresenceMeta, T>(channel: PresenceChannel | null | undefined, by?: (key: string, entry: PresenceEntry<M>) => T): (T | PresenceItem<M>)[] {
  const batcher = useTetherRuntime()?.batcher ?? null;
  const presence = channel ? (presenceOf(channel) as unknown as Presence<M>) : null;
  const subscribe = useCallback(
    (onChange: () => void) => (presence ? presence.subscribe(batcher ? () => batcher.notify(onChange) : onChange) : () => {}),
    [presence, batcher],
  );
  const read = useCallback(() => (presence ? presence.state : (EMPTY_STATE as PresenceState<M>)), [presence]);
  const state = useSyncExternalStore(subscribe, read, read);
  return useMemo(() => Presence.list<M, T | PresenceItem<M>>(state, by ?? ((key, entry) => ({ key, metas: entry.metas, entry }))), [state, by]);
}

function required<C>(channel: C | null, topic: string): C {
  if (!channel) throw notCreated(topic);
  return channel;
}

function notCreated(topic: string): TetherClientError {
  return new TetherClientError('channel_closed', `useChannel("${topic}") has no channel yet (first render) or could not create one (see its error); push from effects or event handlers.`, { topic });
}
