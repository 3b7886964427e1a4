/**
 * A TCP proxy that can black-hole the link like a network partition: while black-holed nothing is forwarded
 * in either direction and no FIN or RST is sent; bytes (and closes) are held back as a congested network
 * would, and delivered when the link is restored, unless the other side gave up on that connection first.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  held: { to: Socket; data: Buffer | null }[];
}

export class BlackholeProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #targetPort: number;
  #blackholed = false;
  port = 0;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
    this.#server = createServer((client) => this.#accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this.port;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  blackhole(): void {
    this.#blackholed = true;
  }

  restore(): void {
    this.#blackholed = false;
    for (const pair of this.#pairs) {
      const held = pair.held.splice(0);
      for (const { to, data } of held) this.#forward(pair, to, data);
    }
  }

  /** New connections go to `port` from now on (a load balancer moving clients to another node). */
  retarget(port: number): void {
    this.#targetPort = port;
  }

  /** Cuts every proxied connection at once (both sides see the socket die), like a crashed middlebox. */
  reset(): void {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const upstream = connect(this.#targetPort, '127.0.0.1');
    const pair: Pair = { client, upstream, held: [] };
    this.#pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const relay = (to: Socket) => (data: Buffer | null) => {
      if (this.#blackholed) pair.held.push({ to, data });
      else this.#forward(pair, to, data);
    };
    client.on('data', relay(upstream));
    upstream.on('data', relay(client));
    client.on('end', () => relay(upstream)(null));
    upstream.on('end', () => relay(client)(null));
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => {
      if (!this.#blackholed) drop();
    });
    upstream.on('close', () => {
      if (!this.#blackholed) drop();
    });
  }

  #forward(pair: Pair, to: Socket, data: Buffer | null): void {
    if (to.destroyed) return;
    if (data === null) to.end();
    else to.write(data);
  }
}
