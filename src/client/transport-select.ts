/**
 * Picks the transport: the global WebSocket, or `ws` (imported on first use) when Node-only options are given or
 * the runtime has no global WebSocket (Node < 22).
 */
import type { SocketOptions } from './socket-options.ts';
import { globalWebSocketTransport, type Transport, type TransportFactory } from './transport.ts';

export function defaultTransport(o: SocketOptions): TransportFactory {
  const hasGlobal = typeof globalThis.WebSocket === 'function';
  if (hasGlobal && !o.headers && !o.tls && !o.agent) return globalWebSocketTransport;
  let factory: TransportFactory | null = null;
  const pending = import('./transport-ws.ts').then((m) => (factory = m.wsTransport({ ...o.tls, headers: o.headers, agent: o.agent })));
  return (url, protocols, handlers) => {
    if (factory) return factory(url, protocols, handlers);
    let inner: Transport | null = null;
    let closed: [number | undefined, string | undefined] | null = null;
    void pending.then((f) => {
      inner = f(url, protocols, handlers);
      if (closed) inner.close(...closed);
    });
    return {
      send: (data) => inner?.send(data),
      close: (code, reason) => (inner ? inner.close(code, reason) : (closed = [code, reason])),
      get bufferedAmount() {
        return inner?.bufferedAmount ?? 0;
      },
    };
  };
}
