/**
 * Bounds the sockets that have connected but not yet sent a complete HTTP request head (an upgrade still
 * being written, or a peer that never finishes it): each gets `handshakeTimeoutMs` on the server's clock,
 * and at most `maxPendingHandshakes` wait at once; beyond that a new socket is destroyed on arrival.
 * Hand-written because Node's own `headersTimeout` is only checked every `connectionsCheckingInterval`
 * (30 s, fixed when the server is made), counts nothing, and cannot run on an injected clock.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Clock } from './clock.ts';

export interface HandshakeGuardOptions {
  handshakeTimeoutMs: number;
  maxPendingHandshakes: number;
  clock: Clock;
  /** Told about each socket the guard destroys: `timeout` (too slow) or `capacity` (too many waiting). */
  onDestroyed?: (reason: 'timeout' | 'capacity') => void;
}

export interface HandshakeGuard {
  /** Sockets that have not sent a complete request head yet. */
  readonly pending: number;
  detach(): void;
}

export function guardHandshakes(http: HttpServer, options: HandshakeGuardOptions): HandshakeGuard {
  const { clock, handshakeTimeoutMs, maxPendingHandshakes } = options;
  const pending = new Map<Socket, unknown>();

  const settle = (socket: Socket): void => {
    const timer = pending.get(socket);
    if (timer === undefined) return;
    clock.clearTimeout(timer);
    pending.delete(socket);
    socket.off('close', onClose);
  };
  // One listener shared by every socket: no closure per connection outlives its handshake.
  function onClose(this: Socket): void {
    settle(this);
  }
  const onConnection = (socket: Socket): void => {
    if (pending.size >= maxPendingHandshakes) {
      socket.destroy();
      options.onDestroyed?.('capacity');
      return;
    }
    const timer = clock.setTimeout(() => {
      pending.delete(socket);
      // A request whose head arrived but that is answered by a listener added before this guard (so the
      // guard never saw its 'request') has written something by now; only the silent ones are cut.
      if (socket.bytesWritten > 0 || socket.destroyed) return;
      socket.destroy();
      options.onDestroyed?.('timeout');
    }, handshakeTimeoutMs);
    pending.set(socket, timer);
    socket.once('close', onClose);
  };
  // A TLS server's request sockets are TLS sockets: guard those (from the end of the TLS handshake).
  const connectionEvent = http instanceof TlsServer ? 'secureConnection' : 'connection';
  const onRequest = (req: IncomingMessage): void => settle(req.socket);
  http.on(connectionEvent, onConnection);
  http.on('upgrade', onRequest);
  http.on('request', onRequest);
  return {
    get pending() {
      return pending.size;
    },
    detach() {
      http.off(connectionEvent, onConnection);
      http.off('upgrade', onRequest);
      http.off('request', onRequest);
      for (const timer of pending.values()) clock.clearTimeout(timer);
      pending.clear();
    },
  };
}
