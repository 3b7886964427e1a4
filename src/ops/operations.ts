/**
 * Everything operational `tether serve` adds to a server, in two calls:
 *   const ops = await prepareOperations({ flags });          // config (file, env, flags), logger, admin channel
 *   const server = createServer({ ...ops.serverOptions, channels: { ...app, ...ops.channels }, ... });
 *   ops.attach(server);                                      // metrics, logging, /healthz /readyz /metrics /, feed
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DestinationStream } from 'pino';
import type { ChannelDefinition } from '../server/channel.ts';
import type { ServerTlsOptions } from '../server/options.ts';
import type { TetherServer } from '../server/server.ts';
import { isLoopbackHost } from '../server/upgrade.ts';
import { renderPage } from '../dashboard/page.ts';
import { ADMIN_TOPIC, type NodeInfo } from '../dashboard/feed.ts';
import { AdminFeed, type AdminAccess, type TasksSource } from './admin-channel.ts';
import { serverOptions, workerCount, type ServeConfig, type ServerLimits } from './config.ts';
import { loadServeConfig, type ConfigSource } from './config-load.ts';
import { dashboardScript } from './dashboard-assets.ts';
import { createOpsRoutes, type Readiness } from './http-routes.ts';
import { readTlsFiles } from './tls-files.ts';
import { createLogger, loggingObserver, type Logger } from './logger.ts';
import { ServerMetrics } from './metrics.ts';
import { Sampler } from './sampler.ts';
import { workerMetrics, type WorkerRow } from './cluster-metrics.ts';

export interface PrepareOptions {
  /** Parsed command-line options (config keys, plus `config` for the file path). */
  flags?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Log destination; default stdout. */
  logDestination?: DestinationStream;
  /** Sampling period of the dashboard feed. Default 1000 ms. */
  sampleIntervalMs?: number;
  /**
   * A worker of `tether serve --workers`: /metrics answers the sum over every worker (asked of the primary), and
   * `workers` lists them for the dashboard.
   */
  worker?: { workers: () => WorkerRow[] };
}

export interface Operations {
  readonly config: ServeConfig;
  readonly origins: Record<keyof ServeConfig, ConfigSource>;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** Spread into createServer's options (with `tls` read from the files when configured). */
  readonly serverOptions: ServerLimits & { tls?: ServerTlsOptions };
  /** Add to createServer's channels: the admin channel, when the dashboard is on. */
  readonly channels: Record<string, ChannelDefinition>;
  /** Who may open the dashboard; null when it is off. */
  readonly dashboardAccess: AdminAccess | null;
  /** Lines for the startup banner: dashboard, metrics and health URLs, preset and config file. */
  describe(httpUrl: string): string[];
  /**
   * What /readyz answers: ready when the broker is connected and the server is not draining; a worker of
   * `--workers` adds its node id and the machine's ready workers.
   */
  readiness(): Readiness;
  /** Wires metrics, logging, the HTTP routes and the dashboard feed into a created server. */
  attach(server: TetherServer): void;
  /** Shows the dashboard's Tasks view, fed by `source` (no-op when the dashboard is off); null hides it. */
  showTasks(source: TasksSource | null): void;
  /** Stops the feed and detaches every observer (the server's own close() stays the caller's). */
  detach(): void;
}

/** Loads the configuration (throws ConfigError when invalid) and builds what the server needs at creation. */
export async function prepareOperations(options: PrepareOptions = {}): Promise<Operations> {
  const { config, origins, file } = await loadServeConfig({ flags: options.flags, env: options.env, cwd: options.cwd });
  const tls = await readTlsFiles(config);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, destination: options.logDestination });
  const metrics = new ServerMetrics();
  const access = dashboardAccess(config);
  if (config.dashboard && access === null) {
    logger.warn(
      { host: config.host },
      'dashboard disabled: the server listens beyond localhost and no admin token is set (TETHER_ADMIN_TOKEN)',
    );
  }
  logger.debug({ config, origins, file }, 'configuration');

  const detachers: (() => void)[] = [];
  const startedAt = Date.now();
  let attached: TetherServer | undefined;
  const nodeInfo = (): NodeInfo => ({
    node: attached?.broker.nodeId ?? '',
    startedAt,
    endpoint: attached ? endpointOf(attached, config.mount) : '',
    ...(options.worker ? { workers: options.worker.workers() } : {}),
  });
  const exposition = options.worker ? workerMetrics(metrics.registry) : () => metrics.exposition();

  const sampler = access ? new Sampler({ metrics, hiddenTopics: new Set([ADMIN_TOPIC]) }) : undefined;
  const feed =
    access && sampler
      ? new AdminFeed({
          sampler,
          access,
          intervalMs: options.sampleIntervalMs,
          tasksHistorySize: config.tasksHistorySize,
          info: nodeInfo,
          workers: options.worker?.workers,
          onError: (err) => logger.error({ err }, 'dashboard feed failed'),
        })
      : undefined;
  const channels: Record<string, ChannelDefinition> = feed ? { [ADMIN_TOPIC]: feed.channel } : {};
  const ops: Operations = {
    config,
    origins,
    logger,
    metrics,
    serverOptions: tls === undefined ? serverOptions(config) : { ...serverOptions(config), tls },
    channels,
    dashboardAccess: access,
    describe(httpUrl) {
      const dashboard = access === null ? 'off' : `${httpUrl}/  (${access.open ? 'open on loopback' : 'admin token required'})`;
      return [
        `  dashboard  ${dashboard}`,
        `  metrics    ${config.metrics ? `${httpUrl}/metrics${config.metricsToken === undefined ? '' : '  (bearer token required)'}` : 'off'}`,
        `  health     ${httpUrl}/healthz  ${httpUrl}/readyz`,
        `  config     preset ${config.preset}, ${file ?? 'no config file'}, log level ${config.logLevel}`,
      ];
    },
    // Read live on every request: the broker's connection and the server's draining flag, nothing cached.
    readiness() {
      const broker = attached?.broker.isReady() ?? false;
      const draining = attached?.draining ?? false;
      const readiness: Readiness = { ready: broker && !draining, broker, draining };
      if (!options.worker) return readiness;
      // Per worker (the one answering) and for the machine (every worker the primary knows as ready).
      return { ...readiness, node: attached?.broker.nodeId ?? '', workers: options.worker.workers(), workersWanted: workerCount(config.workers ?? 1) };
    },
    attach(server) {
      detachers.push(server.observe(loggingObserver(logger)));
      detachers.push(server.observe(metrics.observer));
      detachers.push(metrics.instrumentBroker(server.broker));
      metrics.bindServer(server);
      attached = server;
      if (sampler && feed) {
        sampler.bind(server);
        detachers.push(server.observe(sampler.observer));
        feed.start();
      }
      const routes = createOpsRoutes({
        readiness: () => ops.readiness(),
        metrics: config.metrics
          ? { contentType: metrics.registry.contentType, exposition, token: config.metricsToken }
          : undefined,
        dashboard: access
          ? {
              access,
              page: () => renderPage({ mount: config.mount, connectToken: config.token ?? null, adminTokenRequired: !access.open }),
              script: dashboardScript,
            }
          : undefined,
        onError: (err) => logger.error({ err }, 'operations endpoint failed'),
      });
      detachers.push(prependRequestHandler(server.httpServer, routes));
    },
    showTasks(source) {
      feed?.setTasks(source);
    },
    detach() {
      feed?.stop();
      sampler?.close();
      for (const detach of detachers.splice(0)) detach();
    },
  };
  return ops;
}

/**
 * Open on a loopback-only server without an admin token; token-guarded when one is set; null (dashboard
 * off) when the server listens beyond localhost with no token.
 */
export function dashboardAccess(config: ServeConfig): AdminAccess | null {
  if (!config.dashboard) return null;
  if (config.adminToken !== undefined) return { open: false, token: config.adminToken };
  return isLoopbackHost(config.host) ? { open: true } : null;
}

/** The WebSocket URL clients use, from the bound address when listening (port 0 resolves to the real one). */
function endpointOf(server: TetherServer, mount: string): string {
  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') return `${mount}/websocket`;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = 'setSecureContext' in server.httpServer ? 'wss' : 'ws';
  return `${scheme}://${host}:${address.port}${mount}/websocket`;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Puts `handler` before the server's existing request listeners, which still answer what it does not. */
export function prependRequestHandler(
  http: TetherServer['httpServer'],
  handler: (req: IncomingMessage, res: ServerResponse) => boolean,
): () => void {
  const previous = http.listeners('request') as RequestListener[];
  http.removeAllListeners('request');
  const listener: RequestListener = (req, res) => {
    if (handler(req, res)) return;
    if (previous.length === 0) {
      res.statusCode = 404;
      res.end('Not found\n');
      return;
    }
    for (const next of previous) next.call(http, req, res);
  };
  http.on('request', listener);
  return () => {
    http.off('request', listener);
    for (const next of previous) http.on('request', next);
  };
}
