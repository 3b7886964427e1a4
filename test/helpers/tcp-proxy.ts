/**
 * A loopback TCP proxy that can fail the way real networks do: `blackhole()` silently stops forwarding in both
 * directions (no FIN, no RST; bytes are swallowed, like a dead NAT entry or a pulled cable), `restore()`
 * forwards again, `reset()` destroys every connection (RST-like). Used to prove dead-link detection.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly url: (path?: string) => string;
  /** Connections currently proxied. */
  readonly connections: number;
  blackhole(): void;
  restore(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { port: number; host?: string }): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1';
  const pairs = new Set<[Socket, Socket]>();
  let blackholed = false;
  const server: Server = createServer((client) => {
    const upstream = connect({ port: target.port, host });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!blackholed && !to.destroyed) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', () => {
        // A blackholed link must not tell the other side that this one went away.
        if (!blackholed) end();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: (path = '/socket') => `ws://127.0.0.1:${port}${path}`,
    get connections() {
      return pairs.size;
    },
    blackhole: () => void (blackholed = true),
    restore: () => void (blackholed = false),
    reset: () => {
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      pairs.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}
