/** A scripted Phoenix-ish server on loopback that misbehaves on demand: the test decides every frame it sends. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

export type V2Frame = [string | null, string | null, string, string, unknown];

export interface HostileServer {
  readonly url: string;
  /** Upgrades seen, accepted or refused. */
  readonly upgrades: IncomingMessage[];
  close(): Promise<void>;
}

export interface HostileOptions {
  /** Answer the upgrade with this HTTP status instead of accepting it. */
  refuseWith?: number;
  /** Called for every frame the client sends; `send` writes raw frames back. */
  onFrame?: (frame: V2Frame, send: (frame: V2Frame | string | Buffer) => void, ws: WebSocket) => void;
  onConnection?: (ws: WebSocket) => void;
}

export async function hostileServer(options: HostileOptions): Promise<HostileServer> {
  const upgrades: IncomingMessage[] = [];
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    upgrades.push(req);
    if (options.refuseWith !== undefined) {
      socket.end(`HTTP/1.1 ${options.refuseWith} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      options.onConnection?.(ws);
      const send = (f: V2Frame | string | Buffer) => ws.send(Array.isArray(f) ? JSON.stringify(f) : f);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const frame = JSON.parse(String(data)) as V2Frame;
        if (frame[2] === 'phoenix' && frame[3] === 'heartbeat') return send([null, frame[1], 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
        options.onFrame?.(frame, send, ws);
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/socket`,
    upgrades,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
