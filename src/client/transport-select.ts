/**
 * Picks the transport. `transport: 'longpoll'`: Phoenix's long-poll over fetch, everywhere. Otherwise, in Node:
 * `ws` (imported on first use, so a browser bundle never includes it), which sees the HTTP status of a refused
 * upgrade (401/403 -> `auth`) and refuses oversize frames before reading them. Elsewhere (browsers): the global
 * WebSocket, unless Node-only options (`headers`, `tls`, `agent`) ask for `ws`.
 */
import type { SocketOptions } from './socket-options.ts';
import { globalWebSocketTransport, type Transport, type TransportFactory, type TransportHandlers } from './transport.ts';
import { longPollTransport } from './transport-longpoll.ts';

/** The transport every attempt starts with, and the long-poll one `longPollFallbackMs` may switch to (else null). */
export function selectTransports(o: SocketOptions): { primary: TransportFactory; fallback: TransportFactory | null } {
  const longPoll = () => longPollTransport({ headers: o.headers, maxFrameBytes: o.maxFrameBytes, clock: o.clock, ...o.longPoll });
  const primary = o.transport === 'longpoll' ? longPoll() : typeof o.transport === 'function' ? o.transport : defaultTransport(o);
  const wantsFallback = o.longPollFallbackMs !== undefined && o.longPollFallbackMs > 0 && primary.transportName !== 'longpoll';
  return { primary, fallback: wantsFallback ? longPoll() : null };
}

export function defaultTransport(o: SocketOptions): TransportFactory {
  const hasGlobal = typeof globalThis.WebSocket === 'function';
  const nodeOnly = o.headers !== undefined || o.tls !== undefined || o.agent !== undefined;
  if (hasGlobal && !nodeOnly && !isNode()) return globalWebSocketTransport;
  let factory: TransportFactory | null = null;
  const pending = import('./transport-ws.ts').then(
    (m) => (factory = m.wsTransport({ ...o.tls, headers: o.headers, agent: o.agent, maxFrameBytes: o.maxFrameBytes })),
    (err: unknown) => {
      // `ws` is a dependency, but a trimmed install may lack it: the global WebSocket still works (without statuses).
      if (hasGlobal && !nodeOnly) return (factory = globalWebSocketTransport);
      throw err;
    },
  );
  return Object.assign((url: string, protocols: string[], handlers: TransportHandlers): Transport => {
    if (factory) return factory(url, protocols, handlers);
    let inner: Transport | null = null;
    let closed: [number | undefined, string | undefined] | null = null;
    pending.then(
      (f) => {
        inner = f(url, protocols, handlers);
        if (closed) inner.close(...closed);
      },
      (err: unknown) => handlers.close({ code: 1006, reason: '', opened: false, error: `the ws transport could not be loaded: ${err instanceof Error ? err.message : String(err)}` }),
    );
    return {
      send: (data) => inner?.send(data),
      close: (code, reason) => (inner ? inner.close(code, reason) : (closed = [code, reason])),
      get bufferedAmount() {
        return inner?.bufferedAmount ?? 0;
      },
    };
  }, { transportName: 'websocket' });
}

/** Node (or a runtime that presents itself as Node) outside a browser page (an Electron renderer keeps the page's WebSocket). */
function isNode(): boolean {
  const g = globalThis as { process?: { versions?: { node?: unknown } }; window?: unknown };
  return typeof g.process?.versions?.node === 'string' && g.window === undefined;
}
