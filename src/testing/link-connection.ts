/**
 * One proxied TCP connection of a faulty link: two pipes (client -> server "up", server -> client "down"), each
 * a bounded queue whose chunks are released when the link's mode lets them (now, after a delay, at a rate, or not
 * until the link heals). A pipe over its byte cap stops reading its source, so the sender feels back-pressure
 * exactly as over a congested network and the proxy's memory stays bounded.
 */
import type { Socket } from 'node:net';
import type { Clock } from '../client/clock.ts';
import type { LinkMode } from './link-mode.ts';
import { notifyChange } from './wait.ts';

export type Direction = 'up' | 'down';

/** What a connection needs from its link. */
export interface LinkEnvironment {
  readonly clock: Clock;
  readonly random: () => number;
  /** Bytes a pipe may queue before it stops reading its source. */
  readonly maxHeldBytes: number;
  mode(): LinkMode;
  /** A pipe reached its cap and paused its source. */
  capped(connection: LinkConnection, direction: Direction, bytes: number): void;
  bytes(direction: Direction, count: number): void;
  closed(connection: LinkConnection): void;
}

const END: unique symbol = Symbol('end');
type Chunk = Buffer | typeof END;
type Item = { data: Chunk; at: number };

/** Bandwidth-capped chunks are cut to about 50 ms of transmission each (at least 512 bytes), so delivery is smooth. */
const SLICES_PER_SECOND = 20;
const MIN_SLICE_BYTES = 512;
/** Chunks a pipe may queue whatever their size (a peer writing one byte at a time), before it stops reading. */
export const MAX_QUEUED_CHUNKS = 65_536;

class Pipe {
  readonly #queue: Item[] = [];
  #bytes = 0;
  #lastRelease = 0;
  #timer: unknown = null;
  #writeBlocked = false;
  #capped = false;

  readonly direction: Direction;
  readonly from: Socket;
  readonly to: Socket;
  readonly env: LinkEnvironment;
  readonly conn: LinkConnection;

  constructor(direction: Direction, from: Socket, to: Socket, env: LinkEnvironment, conn: LinkConnection) {
    this.direction = direction;
    this.from = from;
    this.to = to;
    this.env = env;
    this.conn = conn;
  }

  get heldBytes(): number {
    return this.#bytes;
  }

  push(data: Chunk): void {
    const mode = this.env.mode();
    const now = this.env.clock.now();
    const shaped = mode.kind === 'ok' ? mode : null;
    const delay = (shaped?.latencyMs ?? 0) + (shaped?.jitterMs ? this.env.random() * shaped.jitterMs : 0);
    const rate = shaped?.bytesPerSecond;
    const pieces: Chunk[] = data === END || rate === undefined ? [data] : slice(data, Math.max(MIN_SLICE_BYTES, Math.ceil(rate / SLICES_PER_SECOND)));
    for (const piece of pieces) {
      const tx = piece === END || rate === undefined ? 0 : (piece.length * 1000) / rate;
      // Later chunks never overtake earlier ones: TCP keeps order whatever the jitter.
      const at = Math.max(now + delay, this.#lastRelease) + tx;
      this.#lastRelease = at;
      this.#queue.push({ data: piece, at });
      if (piece !== END) this.#bytes += piece.length;
    }
    if ((this.#bytes > this.env.maxHeldBytes || this.#queue.length > MAX_QUEUED_CHUNKS) && !this.#capped) {
      this.#capped = true;
      this.from.pause();
      this.env.capped(this.conn, this.direction, this.#bytes);
    }
    notifyChange();
    this.pump();
  }

  /** Releases every chunk that is due, unless the link holds bytes; schedules the next due one. */
  pump(): void {
    if (this.env.mode().kind === 'blackhole' || this.conn.halfOpen) return;
    const now = this.env.clock.now();
    while (this.#queue.length > 0 && !this.#writeBlocked) {
      const head = this.#queue[0];
      if (head.at > now) break;
      this.#queue.shift();
      if (head.data === END) {
        if (!this.to.destroyed) this.to.end();
        continue;
      }
      this.#bytes -= head.data.length;
      if (this.to.destroyed || this.to.writableEnded) continue;
      this.env.bytes(this.direction, head.data.length);
      if (!this.to.write(head.data)) {
        this.#writeBlocked = true;
        this.to.once('drain', () => {
          this.#writeBlocked = false;
          this.pump();
        });
      }
    }
    if (this.#capped && this.#bytes <= this.env.maxHeldBytes && this.#queue.length <= MAX_QUEUED_CHUNKS && !this.#writeBlocked) {
      this.#capped = false;
      this.from.resume();
    }
    const head = this.#queue[0];
    if (head !== undefined && head.at > now && this.#timer === null) {
      this.#timer = this.env.clock.setTimeout(() => {
        this.#timer = null;
        this.pump();
      }, head.at - now);
    }
  }

  /** Forgets what is queued (the receiving side is gone). */
  drop(): void {
    this.#queue.length = 0;
    this.#bytes = 0;
    this.stop();
  }

  stop(): void {
    if (this.#timer !== null) this.env.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}

function slice(data: Buffer, size: number): Buffer[] {
  if (data.length <= size) return [data];
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

export class LinkConnection {
  readonly id: number;
  readonly client: Socket;
  readonly upstream: Socket;
  /** The client side got its FIN from a `half-open` mode; the server side is left open and unread. */
  halfOpen = false;
  readonly #up: Pipe;
  readonly #down: Pipe;
  readonly #env: LinkEnvironment;
  /** A side that died abruptly while the link held bytes: its peer learns it when the link heals. */
  #lost: Socket | null = null;
  #closed = false;

  constructor(id: number, client: Socket, upstream: Socket, env: LinkEnvironment) {
    this.id = id;
    this.client = client;
    this.upstream = upstream;
    this.#env = env;
    this.#up = new Pipe('up', client, upstream, env, this);
    this.#down = new Pipe('down', upstream, client, env, this);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => !this.halfOpen && this.#up.push(chunk));
    upstream.on('data', (chunk: Buffer) => !this.halfOpen && this.#down.push(chunk));
    client.on('end', () => !this.halfOpen && this.#up.push(END));
    upstream.on('end', () => !this.halfOpen && this.#down.push(END));
    for (const side of [client, upstream]) {
      // Resets and refused connects are expected here; 'close' (hadError) is where they are handled.
      side.on('error', () => {});
      side.on('close', (hadError: boolean) => this.#sideClosed(side, hadError));
    }
  }

  get heldBytes(): number {
    return this.#up.heldBytes + this.#down.heldBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The link changed mode: act on this connection now. */
  apply(mode: LinkMode): void {
    if (this.#closed) return;
    switch (mode.kind) {
      case 'reset':
        this.reset();
        return;
      case 'half-open':
        if (this.halfOpen) return;
        this.halfOpen = true;
        this.#down.drop();
        this.#up.drop();
        this.upstream.pause();
        if (!this.client.destroyed) this.client.end();
        return;
      case 'blackhole':
        return;
      case 'ok':
        if (this.halfOpen || this.#lost !== null) {
          // The peer forgot this connection while the link was down: its next packet meets an RST.
          this.reset();
          return;
        }
        this.#up.pump();
        this.#down.pump();
    }
  }

  reset(): void {
    this.#up.drop();
    this.#down.drop();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (!this.upstream.destroyed) this.upstream.resetAndDestroy();
  }

  destroy(): void {
    this.#up.drop();
    this.#down.drop();
    this.client.destroy();
    this.upstream.destroy();
  }

  #sideClosed(side: Socket, hadError: boolean): void {
    const other = side === this.client ? this.upstream : this.client;
    if (side === this.client && this.halfOpen) {
      // The client is gone for good; the server side stays as it is until the link heals or the server cuts it.
    } else if (hadError && !other.destroyed) {
      if (this.#env.mode().kind === 'blackhole') this.#lost = side;
      else this.reset();
    }
    if (this.client.destroyed && this.upstream.destroyed && !this.#closed) {
      this.#closed = true;
      this.#up.stop();
      this.#down.stop();
      this.#env.closed(this);
    }
  }
}
