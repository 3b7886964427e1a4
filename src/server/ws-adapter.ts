/**
 * Binds the server core to the `ws` library: takes over the HTTP upgrade for the endpoint path, refuses with
 * a proper HTTP status before upgrading, and wraps each accepted socket as a TransportSocket.
 */
import { STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Connection } from './connection.ts';
import type { Admission, ServerCore } from './core.ts';
import { InboundLane, InboundTurns } from './inbound-turns.ts';
import type { SharedFrame, TransportSocket } from './transport.ts';
import { asError } from './unknown.ts';
import { wsDeflateOptions, type ResolvedCompression } from './compression.ts';
import { deflatePeer, framesWritable, sharedWireBytes, wireMode, withCorkedSocket, writeFrames, writeShared, type DeflatePeer, type WireMode } from './ws-wire.ts';

/** The transport of a ws socket, kept on the socket so its listeners can be shared module-level functions. */
const TRANSPORT = Symbol('tether.transport');
type TaggedWs = WebSocket & { [TRANSPORT]: WsTransport };

// Module-level listeners: a closure per connection would keep its scope (the upgrade request, `head`) alive.
function destroyOnError(this: Duplex): void {
  this.destroy();
}
function onWsMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const transport = (this as TaggedWs)[TRANSPORT];
  transport.turns.receive(transport, data, isBinary);
}
function onWsClose(this: WebSocket, code: number, reason: Buffer): void {
  const transport = (this as TaggedWs)[TRANSPORT];
  transport.end();
  transport.connection.closed(code, reason.toString());
}
function onWsError(this: WebSocket, err: Error): void {
  const conn = (this as TaggedWs)[TRANSPORT].connection;
  conn.observers.hooks.error?.(err, `socket ${conn.id}`);
}

/** One accepted socket: the core's TransportSocket, and its connection's lane in the inbound rotation. */
class WsTransport extends InboundLane implements TransportSocket {
  readonly #ws: WebSocket;
  readonly #wire: WireMode;
  readonly #peer: DeflatePeer | null;
  readonly turns: InboundTurns;
  /** Set in `accept` right after the core opens the connection, before any frame can arrive. */
  connection!: Connection;
  /** Frames sent inside `corked` on the raw path, written as one Buffer when it ends; null outside it. */
  #batch: (string | Uint8Array)[] | null = null;
  #batchBytes = 0;

  constructor(ws: WebSocket, wire: WireMode, turns: InboundTurns, compression: ResolvedCompression | false) {
    super();
    this.#ws = ws;
    this.#wire = wire;
    // Pre-compressed frames need the raw path; in public mode ws.send carries them uncompressed.
    this.#peer = wire === 'raw' ? deflatePeer(ws, compression) : null;
    this.turns = turns;
  }

  deliver(data: Buffer, isBinary: boolean): void {
    this.connection.receive(isBinary ? data : data.toString());
  }

  pauseReading(): void {
    this.#ws.pause();
  }

  resumeReading(): void {
    this.#ws.resume();
  }

  send(data: string | Uint8Array): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.#batch === null) this.#ws.send(data);
    else this.#hold(data, typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);
  }

  /** A broadcast's frame, shared by every recipient: see ws-wire.ts for how it reaches the socket. */
  sendShared(frame: SharedFrame): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.#batch === null) writeShared(this.#ws, frame, this.#wire, this.#peer);
    else this.#hold(frame.data, frame.byteLength);
  }

  #hold(data: string | Uint8Array, bytes: number): void {
    this.#batch!.push(data);
    this.#batchBytes += bytes;
  }

  sharedWireBytes(frame: SharedFrame): number {
    return sharedWireBytes(frame, this.#wire, this.#peer);
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount + this.#batchBytes;
  }

  close(code: number, reason: string): void {
    // What was sent before the close goes out before the close frame.
    this.#writeBatch();
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#batch = null;
    this.#batchBytes = 0;
    this.#ws.terminate();
  }

  /**
   * Hands what `write` sends to the OS as one write. On the raw path (ws-wire.ts) the frames are held and
   * framed into one Buffer at the end; otherwise the TCP socket is corked around `write` (ws corks per frame
   * too, and Node counts corks, so one write goes out).
   */
  corked(write: () => void): void {
    if (this.#batch === null && framesWritable(this.#ws, this.#wire)) {
      this.#batch = [];
      try {
        write();
      } finally {
        this.#writeBatch();
      }
      return;
    }
    withCorkedSocket(this.#ws, write);
  }

  #writeBatch(): void {
    const batch = this.#batch;
    if (batch === null) return;
    this.#batch = null;
    this.#batchBytes = 0;
    if (batch.length > 0 && this.#ws.readyState === WebSocket.OPEN) writeFrames(this.#ws, batch);
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
  /** Fairness between connections on the way in (inbound-turns.ts). */
  framesPerTurn: number;
  readBacklogFrames: number;
  readBacklogBytes: number;
  /** permessage-deflate terms, or false (the default) to refuse the extension. */
  compression: ResolvedCompression | false;
}

export interface WsAdapter {
  /** Stops taking upgrades and cuts any socket still open. */
  close(): void;
}

export function attachWs(http: HttpServer, core: ServerCore, options: WsAdapterOptions): WsAdapter {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameBytes,
    perMessageDeflate: options.compression === false ? false : wsDeflateOptions(options.compression),
    // The core tracks its connections; ws's set would cost an entry and a close listener per socket.
    clientTracking: false,
    // Phoenix echoes `phoenix` when the client offered it beside an authToken.
    handleProtocols: (protocols) => (protocols.has('phoenix') ? 'phoenix' : false),
  });

  const turns = new InboundTurns(
    { framesPerTurn: options.framesPerTurn, backlogFrames: options.readBacklogFrames, backlogBytes: options.readBacklogBytes },
    (err) => core.observers.hooks.error?.(asError(err), 'inbound frame'),
  );

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
      const transport = new WsTransport(ws, wireMode(ws, socket), turns, options.compression);
      (ws as TaggedWs)[TRANSPORT] = transport;
      transport.connection = core.open(transport, admission);
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
