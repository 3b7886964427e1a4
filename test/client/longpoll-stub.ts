/**
 * A loopback long-poll server that answers as the Phoenix 1.7.24 transcript (../shared/phoenix-longpoll-transcript.json)
 * does: the HTTP status is 200 and the real one is in the body; the session token is read from the `token` query
 * parameter (the last one wins, as in Plug), so it shadows an app parameter `token`, which is the app's credential.
 * Frames: join and `echo` are answered ok with their payload, heartbeats ok, binary frames (base64) echoed back.
 * Tests reach in to expire sessions, refuse connects, hold answers, or push frames.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

interface Session {
  token: string;
  queue: string[];
  waiting: ServerResponse | null;
  timer: ReturnType<typeof setTimeout> | null;
}

export interface StubRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export class LongPollStub {
  readonly requests: StubRequest[] = [];
  /** Every JSON body answered, in order. */
  readonly answers: string[] = [];
  readonly sessions = new Map<string, Session>();
  /** The app's connect: the `token` param must be `good` (when `requireToken`). */
  requireToken = false;
  /** How long a poll with nothing to send waits before its 204 (Phoenix: 10 s). */
  windowMs = 300;
  /** When set, POSTs are held until the returned function is called. */
  holdPosts: Promise<void> | null = null;
  /** Answer every request with this raw HTTP status and body instead (a proxy's error page). */
  raw: { status: number; body: string } | null = null;
  /** Respond to the WebSocket upgrade with this status (a proxy refusing upgrades). */
  upgradeStatus = 403;
  #server: Server;
  #next = 0;
  port = 0;

  constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('upgrade', (req, socket) => {
      socket.end(`HTTP/1.1 ${this.upgradeStatus} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return `ws://127.0.0.1:${this.port}/socket`;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) this.#release(s, 204);
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  /** The server forgets every session (a restart, or the session window lapsing). */
  expireSessions(): void {
    for (const s of this.sessions.values()) this.#release(s, 410);
    this.sessions.clear();
  }

  /** Pushes a raw V2 frame (JSON text, or a base64 string for binary) to every session. */
  broadcast(message: string): void {
    for (const s of this.sessions.values()) this.#enqueue(s, message);
  }

  get(): StubRequest[] {
    return this.requests.filter((r) => r.method === 'GET');
  }

  posts(): StubRequest[] {
    return this.requests.filter((r) => r.method === 'POST');
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (this.raw) return void res.writeHead(this.raw.status, { 'content-type': 'text/html' }).end(this.raw.body);
    const query = new URL(req.url ?? '/', 'http://stub').searchParams;
    const token = query.getAll('token').at(-1) ?? null;
    const session = token === null ? undefined : this.sessions.get(token);
    if (req.method === 'POST') {
      if (!session) return this.#json(res, { status: 410 });
      if (this.holdPosts) await this.holdPosts;
      for (const line of body.split('\n')) this.#frame(session, line);
      return this.#json(res, { status: 200 });
    }
    if (!session) {
      if (this.requireToken && token !== 'good') return this.#json(res, { status: 403 });
      const fresh: Session = { token: `s${++this.#next}`, queue: [], waiting: null, timer: null };
      this.sessions.set(fresh.token, fresh);
      return this.#json(res, { messages: [], status: 410, token: fresh.token });
    }
    if (session.queue.length > 0) return this.#json(res, { messages: session.queue.splice(0), status: 200, token: session.token });
    session.waiting = res;
    session.timer = setTimeout(() => this.#release(session, 204), this.windowMs);
  }

  #frame(session: Session, line: string): void {
    if (!line.startsWith('[')) return this.#enqueue(session, line);
    const [joinRef, ref, topic, event, payload] = JSON.parse(line) as [string | null, string, string, string, object];
    const response = event === 'echo' ? payload : {};
    this.#enqueue(session, JSON.stringify([joinRef, ref, topic, 'phx_reply', { response, status: 'ok' }]));
  }

  #enqueue(session: Session, message: string): void {
    session.queue.push(message);
    const res = session.waiting;
    if (!res) return;
    session.waiting = null;
    if (session.timer) clearTimeout(session.timer);
    this.#json(res, { messages: session.queue.splice(0), status: 200, token: session.token });
  }

  #release(session: Session, status: number): void {
    const res = session.waiting;
    session.waiting = null;
    if (session.timer) clearTimeout(session.timer);
    if (res) this.#json(res, status === 410 ? { status: 410 } : { messages: [], status, token: session.token });
  }

  #json(res: ServerResponse, body: object): void {
    this.answers.push(JSON.stringify(body));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  }
}
