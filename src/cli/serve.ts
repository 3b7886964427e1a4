/** `tether serve`: the server with the demo `room:*` channel, on embedded (in-memory) defaults. */
import { InvalidArgumentError, type Command } from 'commander';
import { roomChannel } from '../demo/room-channel.ts';
import { createServer } from '../server/server.ts';
import type { ConnectHook } from '../server/options.ts';

export interface ServeOptions {
  port: number;
  host: string;
  token?: string;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be an integer from 0 to 65535.');
  return port;
}

/** With a token set, a connection must carry it as the `token` param or as Phoenix's authToken. */
export function tokenCheck(token: string): ConnectHook {
  return ({ params, authToken }) => params.token === token || authToken === token;
}

export async function serve(options: ServeOptions): Promise<void> {
  const server = createServer({
    port: options.port,
    host: options.host,
    channels: { 'room:*': roomChannel },
    connect: options.token === undefined ? undefined : tokenCheck(options.token),
  });
  const { url, httpUrl } = await server.listen();
  process.stdout.write(
    `tether serve listening\n  WebSocket  ${url}/websocket  (Phoenix clients take ${url})\n  HTTP       ${httpUrl}\n` +
      `  channels   room:*${options.token === undefined ? '' : '\n  auth       token required (param "token" or authToken)'}\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: draining ${server.connectionCount} connection(s)\n`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run a Tether server with the demo room:* channel')
    .option('-p, --port <port>', 'port to listen on (env PORT)', parsePort, process.env.PORT === undefined ? 4000 : parsePort(process.env.PORT))
    .option('-H, --host <host>', 'address to bind', '127.0.0.1')
    .option('--token <secret>', 'require this token (connect param "token" or authToken)')
    .action((options: ServeOptions) => serve(options));
}
