/**
 * The one typed options object of `tether serve`: its schema, documented defaults, presets and the
 * environment variable of each key. Loading and precedence live in config-load.ts.
 */
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto`: readable lines on a terminal, JSON lines otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const PRESET_NAMES = ['standard', 'high-throughput', 'low-memory'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const count = z.int().positive();
const millis = z.int().positive();

/** Every key `tether serve` accepts. Strict: an unknown key is an error, never silently ignored. */
export const serveConfigSchema = z.strictObject({
  preset: z.enum(PRESET_NAMES),
  port: z.int().min(0).max(65535),
  host: z.string().min(1),
  mount: z.string().regex(/^\/[^?#\s]*$/, 'must be a path that starts with "/"'),
  token: z.string().min(1).optional(),
  adminToken: z.string().min(1).optional(),
  redis: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  redisCluster: z.array(z.url({ protocol: /^rediss?$/, error: 'must be redis:// or rediss:// URLs' })).min(1).optional(),
  // Braces would change the Redis Cluster hash tag the broker wraps each topic in.
  redisPrefix: z.string().regex(/^[^{}\s]+$/, 'must be non-empty, without spaces, "{" or "}"'),
  // The broker's node id rule, checked here so a bad id is a configuration error rather than a crash.
  nodeId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -').optional(),
  logLevel: z.enum(LOG_LEVELS),
  logFormat: z.enum(LOG_FORMATS),
  allowedOrigins: z.union([z.array(z.string().min(1)), z.literal(false)]).optional(),
  maxConnections: count,
  maxFrameBytes: count,
  maxChannelsPerConnection: count,
  idleTimeoutMs: millis,
  outboundBudgetBytes: count,
  slowConsumerGraceMs: z.int().nonnegative(),
  closeGraceMs: z.int().nonnegative(),
  messagesPerSecond: count,
  messageBurst: count,
  joinsPerSecond: count,
  joinBurst: count,
  connectTimeoutMs: millis,
  sweepIntervalMs: millis,
  presenceBatchMs: z.int().nonnegative(),
  drainBatchSize: count,
  drainIntervalMs: z.int().nonnegative(),
  drainTimeoutMs: z.int().nonnegative(),
  dedupWindowSize: count,
  dedupTtlMs: millis,
  dedupMaxClients: count,
  metrics: z.boolean(),
  dashboard: z.boolean(),
});

export type ServeConfig = z.infer<typeof serveConfigSchema>;
export type ConfigKey = keyof ServeConfig;
export const CONFIG_KEYS = Object.keys(serveConfigSchema.shape) as ConfigKey[];

const MiB = 1024 * 1024;

/**
 * The `standard` preset: what `tether serve` runs with when nothing is configured. The server limits equal
 * createServer's own defaults, so the CLI and the library behave alike.
 */
export const DEFAULTS: ServeConfig = {
  preset: 'standard',
  port: 4000,
  host: '127.0.0.1',
  mount: '/socket',
  redisPrefix: 'tether:',
  logLevel: 'info',
  logFormat: 'auto',
  maxConnections: 100_000,
  maxFrameBytes: MiB,
  maxChannelsPerConnection: 100,
  idleTimeoutMs: 60_000,
  outboundBudgetBytes: 4 * MiB,
  slowConsumerGraceMs: 5_000,
  closeGraceMs: 10_000,
  messagesPerSecond: 10_000,
  messageBurst: 20_000,
  joinsPerSecond: 20,
  joinBurst: 200,
  connectTimeoutMs: 10_000,
  sweepIntervalMs: 1_000,
  presenceBatchMs: 0,
  drainBatchSize: 500,
  drainIntervalMs: 50,
  drainTimeoutMs: 5_000,
  dedupWindowSize: 1024,
  dedupTtlMs: 300_000,
  dedupMaxClients: 10_000,
  metrics: true,
  dashboard: true,
};

/** What each preset changes relative to DEFAULTS (see docs/operations.md for the reasoning). */
export const PRESETS: Record<PresetName, Partial<ServeConfig>> = {
  standard: {},
  'high-throughput': {
    // Fan-out bursts briefly back up healthy consumers; a larger budget and grace keep them connected.
    outboundBudgetBytes: 16 * MiB,
    slowConsumerGraceMs: 10_000,
    // One presence_diff per 100 ms instead of one per change: large rooms stop flooding their members.
    presenceBatchMs: 100,
    maxConnections: 250_000,
    // Keeps every info-level line (each connection open and close) off the busy path.
    logLevel: 'warn',
    drainBatchSize: 1_000,
  },
  'low-memory': {
    // Bounds the worst-case memory per connection: one frame in, one budget out.
    outboundBudgetBytes: 512 * 1024,
    maxFrameBytes: 64 * 1024,
    maxChannelsPerConnection: 25,
    maxConnections: 10_000,
    // Releases a slow consumer's buffers sooner, and a peer that does not answer our close frame.
    slowConsumerGraceMs: 2_000,
    closeGraceMs: 2_000,
    // Fewer presence frames queued per connection in busy rooms.
    presenceBatchMs: 50,
    // Reclaims the state of silent peers sooner (still above one 30 s heartbeat interval).
    idleTimeoutMs: 45_000,
  },
};

/** The environment variable read for each key. */
export const ENV_VARS: Record<ConfigKey, string> = {
  preset: 'TETHER_PRESET',
  port: 'PORT',
  host: 'HOST',
  mount: 'TETHER_MOUNT',
  token: 'TETHER_TOKEN',
  adminToken: 'TETHER_ADMIN_TOKEN',
  redis: 'REDIS_URL',
  redisCluster: 'TETHER_REDIS_CLUSTER',
  redisPrefix: 'TETHER_REDIS_PREFIX',
  nodeId: 'TETHER_NODE_ID',
  logLevel: 'LOG_LEVEL',
  logFormat: 'TETHER_LOG_FORMAT',
  allowedOrigins: 'TETHER_ALLOWED_ORIGINS',
  maxConnections: 'TETHER_MAX_CONNECTIONS',
  maxFrameBytes: 'TETHER_MAX_FRAME_BYTES',
  maxChannelsPerConnection: 'TETHER_MAX_CHANNELS_PER_CONNECTION',
  idleTimeoutMs: 'TETHER_IDLE_TIMEOUT_MS',
  outboundBudgetBytes: 'TETHER_OUTBOUND_BUDGET_BYTES',
  slowConsumerGraceMs: 'TETHER_SLOW_CONSUMER_GRACE_MS',
  closeGraceMs: 'TETHER_CLOSE_GRACE_MS',
  messagesPerSecond: 'TETHER_MESSAGES_PER_SECOND',
  messageBurst: 'TETHER_MESSAGE_BURST',
  joinsPerSecond: 'TETHER_JOINS_PER_SECOND',
  joinBurst: 'TETHER_JOIN_BURST',
  connectTimeoutMs: 'TETHER_CONNECT_TIMEOUT_MS',
  sweepIntervalMs: 'TETHER_SWEEP_INTERVAL_MS',
  presenceBatchMs: 'TETHER_PRESENCE_BATCH_MS',
  drainBatchSize: 'TETHER_DRAIN_BATCH_SIZE',
  drainIntervalMs: 'TETHER_DRAIN_INTERVAL_MS',
  drainTimeoutMs: 'TETHER_DRAIN_TIMEOUT_MS',
  dedupWindowSize: 'TETHER_DEDUP_WINDOW_SIZE',
  dedupTtlMs: 'TETHER_DEDUP_TTL_MS',
  dedupMaxClients: 'TETHER_DEDUP_MAX_CLIENTS',
  metrics: 'TETHER_METRICS',
  dashboard: 'TETHER_DASHBOARD',
};

/** One line per key: the flag's help text and the description in docs/operations.md. */
export const CONFIG_HELP: Record<ConfigKey, string> = {
  preset: 'starting values for the limits: standard, high-throughput or low-memory',
  port: 'port to listen on (0 picks a free one)',
  host: 'address to bind; anything but loopback needs an admin token for the dashboard',
  mount: 'socket path; clients connect to MOUNT/websocket',
  token: 'require this token from clients (connect param "token" or Phoenix authToken)',
  adminToken: 'token for the dashboard and the tether:admin channel',
  redis: 'scale out through Redis at this URL (default: in-memory, one process)',
  redisCluster: 'scale out through a Redis Cluster: comma-separated seed node URLs (Redis 7+; not with --redis)',
  redisPrefix: 'prefix of every Redis key and channel; nodes with the same prefix form one cluster',
  nodeId: 'this process in the cluster, unique among live nodes (default: random node-xxxxxxxx)',
  logLevel: 'log level: fatal, error, warn, info, debug, trace or silent',
  logFormat: 'auto (readable on a terminal, JSON lines otherwise), json or pretty',
  allowedOrigins: 'comma-separated allowed Origins, or "false" to turn the check off (default: off on loopback, same host otherwise)',
  maxConnections: 'open connections beyond which upgrades get HTTP 503',
  maxFrameBytes: 'largest accepted client frame; bigger closes with 1009',
  maxChannelsPerConnection: 'joined channels per connection ("too many channels joined" after)',
  idleTimeoutMs: 'close a connection that sent nothing for this long (code 4000)',
  outboundBudgetBytes: 'bytes a connection may have buffered for sending',
  slowConsumerGraceMs: 'how long a connection may stay over its budget before it is closed (code 4001)',
  closeGraceMs: 'after the server sends a close frame, cut a peer that has not answered it within this long',
  messagesPerSecond: 'frames a connection may send per second (heartbeats included); over it a frame is refused',
  messageBurst: 'frames allowed at once after a quiet spell; one more burst of refusals closes with 4002',
  joinsPerSecond: 'joins a connection may send per second (counted apart from other frames)',
  joinBurst: 'joins allowed at once (a reconnect rejoins every channel together)',
  connectTimeoutMs: 'refuse an upgrade (HTTP 503) whose connect hook has not settled within this long',
  sweepIntervalMs: 'period of the one timer that checks idleness and budgets',
  presenceBatchMs: 'collect presence changes this long into one presence_diff (0 = end of the current task)',
  drainBatchSize: 'connections closed (code 1012) per step when shutting down',
  drainIntervalMs: 'pause between drain steps',
  drainTimeoutMs: 'how long shutdown waits for clients to finish closing',
  dedupWindowSize: 'resent-push ids remembered per client for de-duplication (createServer dedup.maxEntriesPerClient)',
  dedupTtlMs: 'how long a push id is remembered after it was last seen (dedup.ttlMs)',
  dedupMaxClients: 'clients whose push ids are remembered at once (dedup.maxClients)',
  metrics: 'serve Prometheus metrics at /metrics',
  dashboard: 'serve the live dashboard at / (and the tether:admin channel)',
};

/** The command-line flag of a key: `maxFrameBytes` -> `--max-frame-bytes`. */
export function flagName(key: ConfigKey): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The value type a key takes, so strings from the environment and flags can be converted before validation. */
export type ValueKind = 'number' | 'boolean' | 'list' | 'string';

export function valueKind(key: ConfigKey): ValueKind {
  let field: z.core.$ZodType = serveConfigSchema.shape[key];
  while (field._zod.def.type === 'optional') field = (field as z.ZodOptional)._zod.def.innerType;
  const type = field._zod.def.type;
  if (type === 'number') return 'number';
  if (type === 'boolean') return 'boolean';
  if (type === 'array' || type === 'union') return 'list';
  return 'string';
}

/** The keys that createServer takes as they are. */
export const SERVER_OPTION_KEYS = [
  'port', 'host', 'mount', 'allowedOrigins', 'maxConnections', 'maxFrameBytes', 'maxChannelsPerConnection',
  'idleTimeoutMs', 'outboundBudgetBytes', 'slowConsumerGraceMs', 'closeGraceMs', 'messagesPerSecond',
  'messageBurst', 'joinsPerSecond', 'joinBurst', 'connectTimeoutMs', 'sweepIntervalMs', 'presenceBatchMs',
  'drainBatchSize', 'drainIntervalMs', 'drainTimeoutMs',
] as const satisfies readonly ConfigKey[];

export type ServerLimits = Pick<ServeConfig, (typeof SERVER_OPTION_KEYS)[number]> & {
  dedup: { maxEntriesPerClient: number; ttlMs: number; maxClients: number };
};

/** The part of the configuration that goes to createServer (spread it into the options); the dedup keys nest. */
export function serverOptions(config: ServeConfig): ServerLimits {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_OPTION_KEYS) if (config[key] !== undefined) out[key] = config[key];
  out.dedup = { maxEntriesPerClient: config.dedupWindowSize, ttlMs: config.dedupTtlMs, maxClients: config.dedupMaxClients };
  return out as ServerLimits;
}
