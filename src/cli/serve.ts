/** `tether serve`: the server with the demo `room:*` channel, on embedded (in-memory) defaults. */
import { InvalidArgumentError, type Command } from 'commander';
import { recoverableRoomChannel } from '../demo/room-channel.ts';
import type { Broker } from '../broker/types.ts';
import { createServer } from '../server/server.ts';
import type { ConnectHook } from '../server/options.ts';
import { addConfigOptions, explicitFlags } from '../ops/config-flags.ts';
import { prepareOperations } from '../ops/operations.ts';

export interface ServeOptions {
  port: number;
  host: string;
  token?: string;
  /** Scale out through this Redis (`redis://…`); default the in-memory broker. */
  redis?: string;
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

/** Loaded only when asked for, so the default single-process server never loads the Redis client. */
async function redisBroker(url: string): Promise<Broker> {
  const { RedisBroker } = await import('../broker/redis.ts');
  return new RedisBroker({ url });
}

/** `flags` are the options typed on the command line; config file, environment and presets fill the rest. */
export async function serve(options: ServeOptions, flags: Record<string, unknown> = { ...options }): Promise<void> {
  const ops = await prepareOperations({ flags });
  const config = ops.config;
  const broker = config.redis === undefined ? undefined : await redisBroker(config.redis);
  const server = createServer({
    ...ops.serverOptions,
    channels: { 'room:*': recoverableRoomChannel, ...ops.channels },
    connect: config.token === undefined ? undefined : tokenCheck(config.token),
    broker,
  });
  ops.attach(server);
  const { url, httpUrl } = await server.listen();
  process.stdout.write(
    `tether serve listening\n  WebSocket  ${url}/websocket  (Phoenix clients take ${url})\n  HTTP       ${httpUrl}\n` +
      `  channels   room:*${config.token === undefined ? '' : '\n  auth       token required (param "token" or authToken)'}` +
      `${config.redis === undefined ? '' : `\n  broker     redis ${redactPassword(config.redis)}`}\n${ops.describe(httpUrl).join('\n')}\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: draining ${server.connectionCount} connection(s)\n`);
    const drained = async () => {
      await server.close();
      await broker?.close();
    };
    drained().then(
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

function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description('run a Tether server with the demo room:* channel')
    .option('-p, --port <port>', 'port to listen on (env PORT)', parsePort, process.env.PORT === undefined ? 4000 : parsePort(process.env.PORT))
    .option('-H, --host <host>', 'address to bind', '127.0.0.1')
    .option('--token <secret>', 'require this token (connect param "token" or authToken)')
    .option('--redis <url>', 'scale out through Redis (env REDIS_URL)', process.env.REDIS_URL)
    .action((options: ServeOptions, cmd: Command) => serve(options, explicitFlags(cmd)));
  addConfigOptions(command);
}
