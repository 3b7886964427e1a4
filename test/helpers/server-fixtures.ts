/** Servers on ephemeral loopback ports and a raw-frame WebSocket client that reads answers one at a time. */
import { after } from 'node:test';
import { WebSocket } from 'ws';
import { createServer, type TetherServer } from '../../src/server/index.ts';
import type { ServerOptions } from '../../src/server/options.ts';

export interface Started {
  server: TetherServer;
  url: string;
  port: number;
  /** `ws://127.0.0.1:PORT/socket/websocket?…` with vsn (default 2.0.0) and extra params. */
  endpoint(params?: Record<string, string>): string;
}

const opened = new Set<{ close(): unknown }>();

// A failed assertion must not leave sockets open and keep the test file's process alive.
after(async () => {
  for (const o of opened) o.close();
  opened.clear();
});

export async function startServer(options: Partial<ServerOptions> = {}): Promise<Started> {
  const server = createServer({ port: 0, host: '127.0.0.1', channels: {}, ...options });
  opened.add(server);
  const { url, port } = await server.listen();
  const endpoint = (params: Record<string, string> = {}) =>
    `${url}/websocket?${new URLSearchParams({ vsn: '2.0.0', ...params })}`;
  return { server, url, port, endpoint };
}

export interface CloseEvent {
  code: number;
  reason: string;
}

type Message = string | Buffer;

/** A ws client that queues incoming frames so a test can `await next()` them in order. */
export class RawClient {
  readonly ws: WebSocket;
  readonly closed: Promise<CloseEvent>;
  readonly #inbox: Message[] = [];
  #waiter: ((m: Message) => void) | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    opened.add(this);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const m = isBinary ? data : data.toString();
      if (this.#waiter) {
        const w = this.#waiter;
        this.#waiter = null;
        w(m);
      } else this.#inbox.push(m);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, protocols?: string[], headers?: Record<string, string>): Promise<RawClient> {
    const ws = new WebSocket(url, protocols, { headers });
    const client = new RawClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: unknown[] | string | Uint8Array): void {
    this.ws.send(Array.isArray(frame) ? JSON.stringify(frame) : frame);
  }

  next(timeoutMs = 2000): Promise<Message> {
    const queued = this.#inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
  }

  async json(timeoutMs?: number): Promise<unknown> {
    const m = await this.next(timeoutMs);
    if (typeof m !== 'string') throw new Error('expected a text frame, got binary');
    return JSON.parse(m);
  }

  /** Resolves true if nothing arrives within `ms` (for "dropped, no reply" semantics). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      const m = await this.next(ms);
      this.#inbox.unshift(m);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The HTTP status of an upgrade the server refuses (or 101 when it accepts). */
export function upgradeStatus(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols, { headers: options.headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Joins `topic` with a raw client and returns the reply frame. */
export async function join(client: RawClient, topic: string, ref: string, params: object = {}): Promise<unknown> {
  client.send([ref, ref, topic, 'phx_join', params]);
  return client.json();
}
