/** `tether serve`: the server with the demo `room:*` channel, on embedded (in-memory) defaults. */
import type { Command } from 'commander';
import { recoverableRoomChannel } from '../demo/room-channel.ts';
import { MemoryBroker } from '../broker/memory.ts';
import type { Broker } from '../broker/types.ts';
import { createServer } from '../server/server.ts';
import type { ConnectHook } from '../server/options.ts';
import { tokenMatches } from '../server/token-check.ts';
import { addConfigOptions, explicitFlags } from '../ops/config-flags.ts';
import { ENV_VARS, historyBounds, type ServeConfig } from '../ops/config.ts';
import { prepareOperations } from '../ops/operations.ts';
import type { WorkerRow } from '../ops/cluster-metrics.ts';
import { prepareTasks, tasksConnect } from './serve-tasks.ts';
import { reportToPrimary, runPrimary, workerRole } from './serve-workers.ts';

/** The flags typed on the command line, by config key (strings until the configuration validates them). */
export type ServeFlags = Record<string, unknown>;

/** With a token set, a connection must carry it as the `token` param or as Phoenix's authToken. */
export function tokenCheck(token: string): ConnectHook {
  return ({ params, authToken }) => tokenMatches(token, params.token) || tokenMatches(token, authToken);
}

/** Redis (or a Redis Cluster) when configured (loaded only then, so the single-process server never loads its client), else memory. */
async function createBroker(config: ServeConfig): Promise<Broker> {
  const history = historyBounds(config);
  if (config.redis === undefined && config.redisCluster === undefined) return new MemoryBroker({ nodeId: config.nodeId, history });
  const { RedisBroker } = await import('../broker/redis.ts');
  const where = config.redisCluster ? { cluster: config.redisCluster } : { url: config.redis };
  return new RedisBroker({
    ...where,
    keyPrefix: config.redisPrefix,
    nodeId: config.nodeId,
    historyMaxMessages: history.maxMessages,
    historyMaxMessageBytes: history.maxMessageBytes,
    historyIdleMs: history.idleMs,
  });
}

function describeBroker(config: ServeConfig): string {
  if (config.redisCluster) return `redis cluster ${config.redisCluster.map(redactPassword).join(',')} (prefix ${config.redisPrefix})`;
  if (config.redis !== undefined) return `redis ${redactPassword(config.redis)} (prefix ${config.redisPrefix})`;
  return 'memory';
}

/** `flags` are the options typed on the command line; config file, environment and presets fill the rest. */
export async function serve(flags: ServeFlags = {}): Promise<void> {
  // A worker of `--workers` runs this same command (node:cluster re-runs the entry point) under its own node id.
  const role = workerRole();
  let workers: WorkerRow[] = [];
  const ops = await prepareOperations({ flags, worker: role && { workers: () => workers } });
  if (ops.config.workers !== undefined && role === undefined) {
    return runPrimary(ops.config, {
      info: (line) => process.stdout.write(`${line}\n`),
      error: (line) => process.stderr.write(`${line}\n`),
    });
  }
  const config = role ? { ...ops.config, nodeId: role.nodeId } : ops.config;
  const broker = await createBroker(config);
  const tasks = prepareTasks(config, broker.nodeId, (err, context) => ops.logger.error({ err, context }, 'tasks'));
  const server = createServer({
    ...ops.serverOptions,
    channels: { 'room:*': recoverableRoomChannel, ...tasks?.channels, ...ops.channels },
    connect: tasksConnect(config) ?? (config.token === undefined ? undefined : tokenCheck(config.token)),
    broker,
  });
  ops.attach(server);
  const { url, httpUrl } = await server.listen();
  await tasks?.attach(server);
  if (tasks) ops.showTasks(tasks.overview);
  // Stopping is wired before the banner: a SIGTERM sent the moment "listening" is read must drain, not kill.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: draining ${server.connectionCount} connection(s)\n`);
    const drained = async () => {
      await tasks?.close();
      await server.close();
      await broker.close();
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
  // With workers, the first prints the banner; the others one line each (the primary announces them too).
  if (role && role.index > 1) process.stdout.write(`  worker ${broker.nodeId} listening on ${url}\n`);
  else process.stdout.write(
    `tether serve listening\n  WebSocket  ${url}/websocket  (Phoenix clients take ${url})\n  Long-poll  ${httpUrl}${config.mount}/longpoll\n  HTTP       ${httpUrl}\n` +
      `  channels   room:*${config.token === undefined ? '' : '\n  auth       token required (param "token" or authToken)'}` +
      `\n  broker     ${describeBroker(config)}, node ${broker.nodeId}` +
      `\n${[...ops.describe(httpUrl), ...(tasks?.describe(httpUrl) ?? [])].join('\n')}\n`,
  );
  // Each node's own random key: a long-poll request that reaches another node cannot be verified there (410).
  if (config.longPollSecret === undefined && (config.redis !== undefined || config.redisCluster !== undefined) && role === undefined) {
    process.stderr.write(
      `warning: long-poll sessions of this node are valid only on this node; set --long-poll-secret (${ENV_VARS.longPollSecret}), the same on every node, so any node can serve any long-poll request\n`,
    );
  }
  if (role) reportToPrimary(() => server.connectionCount, (rows) => (workers = rows));
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
    // No defaults and no parsing here: the environment and defaults are read (and validated) by the ops config,
    // so a bad PORT is a configuration error (exit 2), not a crash while the command is being declared.
    .option('-p, --port <port>', 'port to listen on (0 picks a free one; env PORT, default 4000)')
    .option('-H, --host <host>', 'address to bind (env HOST, default 127.0.0.1)')
    .action((_options: unknown, cmd: Command) => serve(explicitFlags(cmd)));
  addConfigOptions(command);
}
