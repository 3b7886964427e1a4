/**
 * The lowest seam: one connection, a WebSocket or a long-poll session. The Socket never sees either, only this
 * interface, so tests can fake the network, Node can swap in `ws` for headers and TLS options, and a network
 * that refuses WebSocket upgrades can use long-poll.
 */

export interface TransportClose {
  /** WebSocket close code; 1006 when the connection dropped or never opened. */
  code: number;
  reason: string;
  /** Whether the connection had opened before it closed. */
  opened: boolean;
  /** HTTP status of a refused upgrade, when the transport can see it (the `ws` transport can; browsers cannot). */
  status?: number;
  /** A transport error message, when there was one. */
  error?: string;
  /** The transport closed the link itself (1009) because the server sent a frame over its `maxFrameBytes`. */
  frameTooLarge?: boolean;
}

/** Default largest frame a client accepts from the server: 8 MiB (see docs/client.md for why not the server's 1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

export interface TransportHandlers {
  open(): void;
  /** `bytes`: the frame's size on the wire when the transport knows it (else the socket measures the text's UTF-8). */
  message(data: string | Uint8Array, bytes?: number): void;
  /** Called exactly once per transport, whether or not it opened. */
  close(info: TransportClose): void;
}

export interface Transport {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued by the WebSocket but not yet written. */
  readonly bufferedAmount: number;
}

/**
 * Opens one connection. `transportName` says what it is in `socket.stats()` and the state history (`websocket`,
 * `longpoll`); a factory without one is reported as `custom`.
 */
export type TransportFactory = ((url: string, protocols: string[], handlers: TransportHandlers) => Transport) & { readonly transportName?: string };

/** A factory's name for diagnostics. */
export function transportNameOf(factory: TransportFactory): string {
  return factory.transportName ?? 'custom';
}

/** The global WebSocket (browsers, Node >= 22). A refused upgrade is indistinguishable from a network error. */
export const globalWebSocketTransport: TransportFactory = Object.assign((url: string, protocols: string[], handlers: TransportHandlers): Transport => {
  const Ctor = globalThis.WebSocket;
  let done = false;
  let opened = false;
  let error: string | undefined;
  const finish = (info: TransportClose) => {
    if (done) return;
    done = true;
    handlers.close(info);
  };
  let ws: WebSocket;
  try {
    ws = new Ctor(url, protocols);
  } catch (err) {
    queueMicrotask(() => finish({ code: 1006, reason: '', opened: false, error: (err as Error).message }));
    return { send() {}, close() {}, bufferedAmount: 0 };
  }
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    opened = true;
    handlers.open();
  };
  ws.onmessage = (ev: MessageEvent) => {
    const data = ev.data;
    handlers.message(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
  };
  ws.onerror = (ev: Event) => {
    error = (ev as ErrorEvent).message || (ev as { error?: Error }).error?.message || 'WebSocket error';
  };
  ws.onclose = (ev: CloseEvent) => finish({ code: ev.code, reason: ev.reason, opened, error });
  return {
    send: (data) => ws.send(data as string | Uint8Array<ArrayBuffer>),
    close: (code, reason) => {
      try {
        ws.close(code, reason);
      } catch {
        ws.close();
      }
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}, { transportName: 'websocket' });
