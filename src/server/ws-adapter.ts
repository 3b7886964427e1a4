/**
 * Binds the server core to the `ws` library: takes over the HTTP upgrade for the endpoint path, refuses with
 * a proper HTTP status before upgrading, and wraps each accepted socket as a TransportSocket.
 */
import { STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { Connection } from './connection.ts';
import type { Admission, ServerCore } from './core.ts';
import type { SharedFrame, TransportSocket } from './transport.ts';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
/** ws's own framing function (exported at runtime as `Sender.frame`, absent from @types/ws). */
const frameParts = (wsModule as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }).Sender.frame;

const OPCODE_TEXT = 1;
const OPCODE_BINARY = 2;
const SENDER_IDLE = 0;

/** The parts of a ws WebSocket the shared-frame fast path reads; stable across ws 8. */
interface WsInternals {
  _socket: Socket | null;
  _sender: { _state: number };
}

/** The complete wire bytes (header + payload) of one unmasked, uncompressed server frame. */
export function frameForWire(data: string | Uint8Array): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts = frameParts(payload, {
    fin: true,
    rsv1: false,
    opcode: typeof data === 'string' ? OPCODE_TEXT : OPCODE_BINARY,
    mask: false,
    readOnly: true,
  });
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** The connection a ws socket feeds, kept on the socket so its listeners can be shared module-level functions. */
const CONNECTION = Symbol('tether.connection');
type TaggedWs = WebSocket & { [CONNECTION]: Connection };

// Module-level listeners: a closure per connection would keep its scope (the upgrade request, `head`) alive.
function destroyOnError(this: Duplex): void {
  this.destroy();
}
function onWsMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as TaggedWs)[CONNECTION].receive(isBinary ? data : data.toString());
}
function onWsClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as TaggedWs)[CONNECTION].closed(code, reason.toString());
}
function onWsError(this: WebSocket, err: Error): void {
  const conn = (this as TaggedWs)[CONNECTION];
  conn.core.observers.hooks.error?.(err, `socket ${conn.id}`);
}

class WsTransport implements TransportSocket {
  readonly #ws: WebSocket;

  constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  send(data: string | Uint8Array): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(data);
  }

  /**
   * A broadcast is framed once (cached on the SharedFrame) and every recipient gets the same bytes written
   * straight to its TCP socket. That is exactly what ws's Sender would write (no compression, server frames
   * are unmasked); when the Sender is busy we fall back to it so frames never interleave.
   */
  sendShared(frame: SharedFrame): void {
    const ws = this.#ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    const internals = ws as unknown as WsInternals;
    const socket = internals._socket;
    if (socket === null || internals._sender._state !== SENDER_IDLE) {
      ws.send(frame.data);
      return;
    }
    let bytes = frame.framed as Buffer | undefined;
    if (bytes === undefined) frame.framed = bytes = frameForWire(frame.data);
    socket.write(bytes);
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }
}

/** Writes the refusal and destroys the socket once it is flushed (as ws's abortHandshake), so no peer keeps it. */
function refuse(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  const body = `${reason}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export interface WsAdapterOptions {
  /** The endpoint path, `${mount}/websocket`. */
  path: string;
  maxFrameBytes: number;
  /** Answer upgrades for other paths with 404 (only when the server owns the HTTP server). */
  refuseOtherPaths: boolean;
}

export interface WsAdapter {
  /** Stops taking upgrades and cuts any socket still open. */
  close(): void;
}

export function attachWs(http: HttpServer, core: ServerCore, options: WsAdapterOptions): WsAdapter {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameBytes,
    perMessageDeflate: false,
    // The core tracks its connections; ws's set would cost an entry and a close listener per socket.
    clientTracking: false,
    // Phoenix echoes `phoenix` when the client offered it beside an authToken.
    handleProtocols: (protocols) => (protocols.has('phoenix') ? 'phoenix' : false),
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== options.path) {
      if (options.refuseOtherPaths) refuse(socket, 404, `no WebSocket endpoint at ${path}; use ${options.path}`);
      return;
    }
    socket.on('error', destroyOnError);
    core
      .admit({ search: q === -1 ? '' : url.slice(q), headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '' })
      .then((admission) => {
        if (!admission.ok) refuse(socket, admission.status, admission.reason);
        else if (socket.destroyed) core.abandon();
        else accept(req, socket, head, admission);
      });
  };

  // ws completes (or aborts) an upgrade synchronously when there is no verifyClient, so no close listener is
  // needed to notice a failed handshake: the callback either ran by the time handleUpgrade returns or never will.
  const accept = (req: IncomingMessage, socket: Duplex, head: Buffer, admission: Extract<Admission, { ok: true }>) => {
    let opened = false;
    wss.handleUpgrade(req, socket, head, (ws) => {
      opened = true;
      // ws has its own error listener on the socket from here on.
      socket.off('error', destroyOnError);
      const tagged = ws as TaggedWs;
      tagged[CONNECTION] = core.open(new WsTransport(ws), admission);
      ws.on('message', onWsMessage);
      ws.on('close', onWsClose);
      ws.on('error', onWsError);
    });
    if (!opened) core.abandon();
  };

  http.on('upgrade', onUpgrade);
  return {
    close() {
      http.off('upgrade', onUpgrade);
      core.terminateAll();
      wss.close();
    },
  };
}
