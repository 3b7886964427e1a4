/**
 * The `ws` transport for Node: custom headers, TLS options (CA, client certificate, server certificate pinning
 * by SHA-256 fingerprint) and an agent, and the HTTP status of a refused upgrade. `ws` and the Node modules it
 * needs are imported lazily, so a browser bundle never includes them.
 */
import { DEFAULT_MAX_FRAME_BYTES, type Transport, type TransportClose, type TransportFactory, type TransportHandlers } from './transport.ts';

/**
 * What the client offers for permessage-deflate: the subset of ws's PerMessageDeflateOptions a client uses, declared
 * here so the published types do not depend on `@types/ws`.
 */
export interface DeflateOffer {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number;
  threshold?: number;
  concurrencyLimit?: number;
  zlibDeflateOptions?: { level?: number; memLevel?: number };
}

export interface WsTransportOptions {
  headers?: Record<string, string>;
  /** Trusted CA certificates (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * SHA-256 fingerprints of acceptable server certificates (hex, with or without colons). When set, the
   * certificate must match one of them and the CA chain is not consulted; the check runs before the upgrade
   * request (and its token) is written.
   */
  pinnedSha256?: string[];
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** An http(s).Agent (proxies, keep-alive pools). */
  agent?: unknown;
  /**
   * Largest frame accepted from the server, in bytes; a bigger one is refused from its header, before it is
   * read, and the link closes with 1009. Default 8 MiB.
   */
  maxFrameBytes?: number;
  /**
   * Offer permessage-deflate (ws's PerMessageDeflateOptions, or true for its defaults). Default false. A
   * Tether server with `compression` on accepts it with server_no_context_takeover; the inflated size of a
   * server message is capped by `maxFrameBytes` (close 1009).
   */
  perMessageDeflate?: boolean | DeflateOffer;
}

const normalizePin = (pin: string) => pin.replace(/:/g, '').toLowerCase();

export function wsTransport(options: WsTransportOptions = {}): TransportFactory {
  return Object.assign((url: string, protocols: string[], handlers: TransportHandlers) => new WsTransport(url, protocols, handlers, options), { transportName: 'websocket' });
}

class WsTransport implements Transport {
  #ws: import('ws').WebSocket | null = null;
  #done = false;
  #opened = false;
  #closeRequest: [number | undefined, string | undefined] | null = null;
  #status: number | undefined;
  #error: string | undefined;
  readonly #handlers: TransportHandlers;

  constructor(url: string, protocols: string[], handlers: TransportHandlers, options: WsTransportOptions) {
    this.#handlers = handlers;
    void this.#start(url, protocols, options).catch((err: Error) => this.#finish({ code: 1006, reason: '', opened: false, error: err.message }));
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  send(data: string | Uint8Array): void {
    this.#ws?.send(data);
  }

  close(code?: number, reason?: string): void {
    if (!this.#ws) {
      this.#closeRequest = [code, reason];
      return;
    }
    if (!this.#opened) this.#ws.terminate();
    else this.#ws.close(code, reason);
  }

  async #start(url: string, protocols: string[], o: WsTransportOptions): Promise<void> {
    const { WebSocket } = await import('ws');
    const pins = o.pinnedSha256?.map(normalizePin);
    const createConnection = pins ? await pinnedConnector(pins) : undefined;
    if (this.#closeRequest) {
      this.#finish({ code: 1006, reason: 'closed before connecting', opened: false });
      return;
    }
    const clientOptions = {
      headers: o.headers,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      rejectUnauthorized: o.rejectUnauthorized,
      agent: o.agent as import('node:http').Agent | undefined,
      perMessageDeflate: o.perMessageDeflate ?? false,
      maxPayload: o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    } as import('ws').ClientOptions & Record<string, unknown>;
    if (createConnection) (clientOptions as Record<string, unknown>).createConnection = createConnection;
    const ws = new WebSocket(url, protocols, clientOptions);
    this.#ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.#opened = true;
      this.#handlers.open();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.#handlers.message(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString('utf8'), data.byteLength);
    });
    ws.on('unexpected-response', (req, res) => {
      this.#status = res.statusCode;
      this.#error = `server answered the upgrade with HTTP ${res.statusCode}`;
      req.destroy();
      this.#finish({ code: 1006, reason: '', opened: false, status: this.#status, error: this.#error });
    });
    ws.on('error', (err: Error & { code?: string }) => {
      this.#error = err.message;
      if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return;
      // ws would wait up to 30 s for the peer's close frame; a server that sends oversize frames gets none of that.
      ws.terminate();
      this.#finish({ code: 1009, reason: '', opened: this.#opened, error: `the server sent a frame over maxFrameBytes (${o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES} bytes)`, frameTooLarge: true });
    });
    ws.on('close', (code, reason) => this.#finish({ code, reason: reason.toString(), opened: this.#opened, status: this.#status, error: this.#error }));
  }

  #finish(info: TransportClose): void {
    if (this.#done) return;
    this.#done = true;
    this.#handlers.close(info);
  }
}

type Connector = (options: Record<string, unknown>, done: (err: Error | null, socket?: unknown) => void) => undefined;

/** A TLS connector that checks the peer certificate's SHA-256 before handing the socket to the HTTP request. */
async function pinnedConnector(pins: string[]): Promise<Connector> {
  const tls = await import('node:tls');
  const net = await import('node:net');
  return (options, done) => {
    const host = String(options.host ?? '');
    const socket = tls.connect({
      ...(options as import('node:tls').ConnectionOptions),
      path: undefined,
      servername: net.isIP(host) ? undefined : host,
      rejectUnauthorized: false,
    });
    socket.once('error', (err) => done(err));
    socket.once('secureConnect', () => {
      const fingerprint = normalizePin(socket.getPeerCertificate().fingerprint256 ?? '');
      if (pins.includes(fingerprint)) {
        done(null, socket);
        return;
      }
      socket.destroy();
      done(new Error(`server certificate SHA-256 ${fingerprint} matches no pinned fingerprint`));
    });
    return undefined;
  };
}
