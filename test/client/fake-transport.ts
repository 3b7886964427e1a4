/** A scripted network at the client's lowest seam: each connection attempt becomes a FakeConnection the test drives. */
import type { Transport, TransportClose, TransportFactory, TransportHandlers } from '../../src/client/transport.ts';

export class FakeConnection implements Transport {
  readonly url: string;
  readonly protocols: string[];
  readonly sent: (string | Uint8Array)[] = [];
  bufferedAmount = 0;
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  closedWith: { code?: number; reason?: string } | null = null;
  readonly #handlers: TransportHandlers;

  constructor(url: string, protocols: string[], handlers: TransportHandlers) {
    this.url = url;
    this.protocols = protocols;
    this.#handlers = handlers;
  }

  send(data: string | Uint8Array): void {
    if (this.state !== 'open') throw new Error('send on a fake connection that is not open');
    this.sent.push(data);
  }

  /** Like a real WebSocket, the close event follows asynchronously. */
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    const opened = this.state === 'open';
    this.state = 'closed';
    queueMicrotask(() => this.#finish({ code: code ?? 1005, reason: reason ?? '', opened }));
  }

  // ---- test side ----
  open(): void {
    this.state = 'open';
    this.#handlers.open();
  }
  /** The server sends a frame (a V2 array is JSON-encoded). */
  deliver(frame: string | Uint8Array | unknown[]): void {
    this.#handlers.message(Array.isArray(frame) ? JSON.stringify(frame) : frame);
  }
  drop(info: Partial<TransportClose> = {}): void {
    const opened = this.state === 'open' || info.opened === true;
    this.state = 'closed';
    this.#finish({ code: 1006, reason: '', opened, ...info });
  }
  #finished = false;
  #finish(info: TransportClose): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#handlers.close(info);
  }
  /** Sent text frames parsed as V2 arrays. */
  frames(): unknown[][] {
    return this.sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d) as unknown[]);
  }
  last(event?: string): unknown[] {
    const all = this.frames().filter((f) => event === undefined || f[3] === event);
    const f = all.at(-1);
    if (!f) throw new Error(`no sent frame${event ? ` with event ${event}` : ''}`);
    return f;
  }
  /** Answers the last frame with `event` with a phx_reply. */
  reply(event: string, status = 'ok', response: object = {}): unknown[] {
    const f = this.last(event);
    this.deliver([f[0], f[1], f[2], 'phx_reply', { status, response }]);
    return f;
  }
}

export class FakeNetwork {
  readonly connections: FakeConnection[] = [];
  readonly factory: TransportFactory = (url, protocols, handlers) => {
    const c = new FakeConnection(url, protocols, handlers);
    this.connections.push(c);
    return c;
  };
  get current(): FakeConnection {
    const c = this.connections.at(-1);
    if (!c) throw new Error('no connection attempt yet');
    return c;
  }
}
