/**
 * Runs the React chat example: bundles the page with esbuild (React in development mode, so StrictMode's
 * checks run), serves it, and serves the `chat:*` rooms on the same port.
 *
 *   node examples/react-chat/server.ts [port]      then open http://127.0.0.1:4100/?user=ada in two tabs
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { createServer, type TetherServer } from '../../src/server/index.ts';
import { chatChannel } from './chat-channel.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Tether React chat</title>
<div id="root"></div>
<script type="module" src="/app.js"></script>
`;

/** Bundles `entry` (default: the example's main.tsx) into one ES module for the browser. */
export async function buildChatBundle(entry = `${here}main.tsx`): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    // The client's Node-only transport loads these lazily; a page never reaches them.
    external: ['ws', 'node:*'],
    define: { 'process.env.NODE_ENV': '"development"' },
    tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)),
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

export interface ChatServer {
  http: HttpServer;
  tether: TetherServer;
  /** The page: `http://host:port/`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves the page (`/`, `/app.js`) and the chat rooms (`/socket`) on one port; 0 picks a free one. */
export async function startChatServer(options: { bundle: string; port?: number; host?: string }): Promise<ChatServer> {
  const { bundle, port = 4100, host = '127.0.0.1' } = options;
  const http = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    if (path === '/app.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    res.writeHead(404).end();
  });
  const tether = createServer({ httpServer: http, channels: { 'chat:*': chatChannel } });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  await tether.listen();
  const actual = (http.address() as { port: number }).port;
  return {
    http,
    tether,
    url: `http://${host}:${actual}/`,
    port: actual,
    async close() {
      await tether.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const chat = await startChatServer({ bundle: await buildChatBundle(), port: Number(process.argv[2] ?? 4100) });
  console.log(`React chat on ${chat.url}?user=ada (open it twice with different users; Ctrl-C stops)`);
  process.on('SIGINT', () => void chat.close().then(() => process.exit(0)));
}
