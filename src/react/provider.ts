/**
 * `<TetherProvider>`: one Socket for a React tree. It connects when the provider mounts and disconnects when it
 * unmounts (after a zero-delay timer, so StrictMode's remount keeps the connection), and carries the channel
 * registry and update batcher every hook below it shares.
 */
import { createContext, createElement, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactElement, type ReactNode } from 'react';
import { Socket, type SocketOptions, type SocketState } from '../client/index.ts';
import { UpdateBatcher, type UpdateBatcherOptions, type UpdateMode } from './batch.ts';
import { ChannelRegistry, isDevelopment } from './registry.ts';

export interface TetherRuntime {
  readonly socket: Socket;
  readonly registry: ChannelRegistry;
  readonly batcher: UpdateBatcher;
}

const TetherContext = createContext<TetherRuntime | null>(null);

interface CommonProps {
  /**
   * How channel events and state changes reach components: `frame` (default) batches them so a burst renders
   * once (at most `maxDelayMs`, default 100 ms, late); `sync` delivers each at once. Read on the first render.
   */
  updates?: UpdateMode | UpdateBatcherOptions;
  children?: ReactNode;
}

/**
 * Either an endpoint (the provider makes the Socket from `url` and `options` on its first render and ignores
 * later changes: give the provider a new `key` to switch), or a Socket the app made (e.g. with a durable outbox).
 */
export type TetherProviderProps = CommonProps & ({ url: string; options?: SocketOptions; socket?: never } | { socket: Socket; url?: never; options?: never });

export function TetherProvider(props: TetherProviderProps): ReactElement {
  const [runtime] = useState<TetherRuntime>(() => {
    const socket = props.socket ?? new Socket(props.url!, props.options);
    const batcher = new UpdateBatcher(typeof props.updates === 'string' ? { mode: props.updates } : props.updates);
    return { socket, batcher, registry: new ChannelRegistry(socket, batcher) };
  });
  const given = props.socket ?? props.url;
  const first = useRef(given);
  useEffect(() => {
    if (given !== first.current && isDevelopment()) {
      console.warn('tether-rt/react: <TetherProvider> got a different url or socket after its first render and keeps the first; give it a new key to switch.');
    }
  }, [given]);
  useEffect(() => {
    const pending = closing.get(runtime);
    if (pending !== undefined) clearTimeout(pending);
    closing.delete(runtime);
    runtime.socket.connect();
    return () => {
      closing.set(runtime, setTimeout(() => {
        closing.delete(runtime);
        runtime.registry.dispose();
        runtime.batcher.cancel();
        void runtime.socket.disconnect();
      }, 0));
    };
  }, [runtime]);
  return createElement(TetherContext.Provider, { value: runtime }, props.children);
}

const closing = new WeakMap<TetherRuntime, ReturnType<typeof setTimeout>>();

/** The provider's runtime, or null outside one. */
export function useTetherRuntime(): TetherRuntime | null {
  return useContext(TetherContext);
}

function useRequiredRuntime(hook: string): TetherRuntime {
  const runtime = useContext(TetherContext);
  if (!runtime) throw new Error(`${hook} must be used inside <TetherProvider>.`);
  return runtime;
}

/** The provider's Socket (for stats(), ping(), or channels made by hand). */
export function useSocket(): Socket {
  return useRequiredRuntime('useSocket()').socket;
}

/** The socket's state (`connecting`, `open`, `reconnecting`, ...), re-rendering when it changes. */
export function useSocketState(): SocketState {
  const { socket, batcher } = useRequiredRuntime('useSocketState()');
  const [store] = useState(() => ({
    subscribe: (onChange: () => void) => socket.on('state', () => batcher.notify(onChange)),
    read: () => socket.state,
  }));
  return useSyncExternalStore(store.subscribe, store.read, store.read);
}

export { useRequiredRuntime };
