/**
 * The one typed options object of `tether serve`: its schema, documented defaults, presets and the
 * environment variable of each key. Loading and precedence live in config-load.ts.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { HISTORY_LIMIT_DEFAULTS } from '../broker/history-memory.ts';
import { COMPRESSION_DEFAULTS, type CompressionOptions } from '../server/compression.ts';
import { SERVER_DEFAULTS } from '../server/options.ts';
import { PUSH_DEDUP_DEFAULTS } from '../server/recovery/push-dedup.ts';
import { COALESCER_DEFAULTS, PUBLISH_DEFAULTS, SNAPSHOT_DEFAULTS } from '../tasks/defaults.ts';
import { ADMIN_FEED_DEFAULTS } from './admin-channel.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto`: readable lines on a terminal, JSON lines otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const PRESET_NAMES = ['standard', 'high-throughput', 'low-memory'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const count = z.int().positive();
/** The most worker processes `--workers` starts (a bound on processes, far above any machine's cores). */
export const MAX_WORKERS = 256;
const millis = z.int().positive();

/** How many worker processes `workers` means: the number, or the cores (`os.availableParallelism()`) for `auto`. */
export function workerCount(workers: number | 'auto'): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

/** Every key `tether serve` accepts. Strict: an unknown key is an error, never silently ignored. */
export const serveConfigSchema = z.strictObject({
  preset: z.enum(PRESET_NAMES),
  port: z.int().min(0).max(65535),
  host: z.string().min(1),
  mount: z.string().regex(/^\/[^?#\s]*$/, 'must be a path that starts with "/"'),
  token: z.string().min(1).optional(),
  adminToken: z.string().min(1).optional(),
  metricsToken: z.string().min(1).optional(),
  redis: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  redisCluster: z.array(z.url({ protocol: /^rediss?$/, error: 'must be redis:// or rediss:// URLs' })).min(1).optional(),
  // Braces would change the Redis Cluster hash tag the broker wraps each topic in.
  redisPrefix: z.string().regex(/^[^{}\s]+$/, 'must be non-empty, without spaces, "{" or "}"'),
  // The broker's node id rule, checked here so a bad id is a configuration error rather than a crash.
  nodeId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -').optional(),
  // Worker processes on one port (node:cluster): a count, or `auto` for os.availableParallelism().
  workers: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(MAX_WORKERS)], {
    error: `must be "auto" or a whole number from 1 to ${MAX_WORKERS}`,
  }).optional(),
  logLevel: z.enum(LOG_LEVELS),
  logFormat: z.enum(LOG_FORMATS),
  allowedOrigins: z.union([z.array(z.string().min(1)), z.literal(false)]).optional(),
  maxConnections: count,
  backlog: count,
  maxFrameBytes: count,
  maxChannelsPerConnection: count,
  idleTimeoutMs: millis,
  outboundBudgetBytes: count,
  slowConsumerGraceMs: z.int().nonnegative(),
  outboundHardCapBytes: count.optional(),
  framesPerTurn: count,
  readBacklogFrames: count,
  readBacklogBytes: count,
  closeGraceMs: z.int().nonnegative(),
  messagesPerSecond: count,
  messageBurst: count,
  joinsPerSecond: count,
  joinBurst: count,
  connectTimeoutMs: millis,
  handshakeTimeoutMs: millis,
  maxPendingHandshakes: count,
  inboundBacklogMessages: count,
  inboundBacklogBytes: count,
  sweepIntervalMs: millis,
  presenceBatchMs: z.int().nonnegative(),
  drainBatchSize: count,
  drainIntervalMs: z.int().nonnegative(),
  drainTimeoutMs: z.int().nonnegative(),
  drainReconnectWindowMs: z.int().nonnegative().max(600_000),
  drainHandoverMs: z.int().nonnegative().max(600_000),
  longPollWindowMs: millis.max(600_000),
  longPollIdleMs: millis,
  longPollSecret: z.string().min(32, 'must be at least 32 characters').optional(),
  longPollMaxBodyBytes: count,
  longPollMaxFramesPerPost: count,
  longPollMaxQueuedMessages: count,
  dedupWindowSize: count,
  dedupTtlMs: millis,
  dedupMaxClients: count,
  historyMaxMessages: count,
  historyMaxMessageBytes: count,
  historyMaxTopicBytes: count,
  historyMaxTotalBytes: count,
  historyMaxTopics: count,
  historyIdleMs: millis.optional(),
  compression: z.boolean(),
  compressionThresholdBytes: z.int().nonnegative(),
  compressionLevel: z.int().min(0).max(9),
  compressionMemLevel: z.int().min(1).max(9),
  compressionConcurrency: count,
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  tlsCa: z.string().min(1).optional(),
  metrics: z.boolean(),
  dashboard: z.boolean(),
  // Live task queues (docs/tasks.md). The queue-name rule is BullMQ's minus ':' (tasks/types.ts QUEUE_NAME).
  jwtSecret: z.string().min(32, 'must be at least 32 characters (an HS256 key of 256 bits)').optional(),
  tasks: z.array(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'queue names: 1-100 characters of A-Z a-z 0-9 . _ -')).optional(),
  tasksRedis: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  tasksMaxPerQueue: count,
  tasksTtlMs: millis,
  tasksProgressPerSecond: count,
  // A sample holds the shown queues' counters (~150 bytes a queue) and every dashboard join gets them all: an hour at most.
  tasksHistorySize: count.max(3600),
  publishToken: z.string().min(1).optional(),
  publishMaxBytes: count,
});

export type ServeConfig = z.infer<typeof serveConfigSchema>;
export type ConfigKey = keyof ServeConfig;
export const CONFIG_KEYS = Object.keys(serveConfigSchema.shape) as ConfigKey[];

const MiB = 1024 * 1024;

/**
 * The `standard` preset: what `tether serve` runs with when nothing is configured. The server limits are
 * createServer's own defaults, read from where the server states them, so the CLI and the library behave alike.
 */
export const DEFAULTS: ServeConfig = {
  preset: 'standard',
  // port, host, mount, every limit, and compression off (as in Phoenix and ws).
  ...SERVER_DEFAULTS,
  redisPrefix: 'tether:',
  logLevel: 'info',
  logFormat: 'auto',
  dedupWindowSize: PUSH_DEDUP_DEFAULTS.maxEntriesPerClient,
  dedupTtlMs: PUSH_DEDUP_DEFAULTS.ttlMs,
  dedupMaxClients: PUSH_DEDUP_DEFAULTS.maxClients,
  // The demo rooms keep history (1000 messages, 5 min); these bound what that can cost (docs/recovery.md).
  historyMaxMessages: HISTORY_LIMIT_DEFAULTS.maxMessages,
  historyMaxMessageBytes: HISTORY_LIMIT_DEFAULTS.maxMessageBytes,
  historyMaxTopicBytes: HISTORY_LIMIT_DEFAULTS.maxTopicBytes,
  historyMaxTotalBytes: HISTORY_LIMIT_DEFAULTS.maxTotalBytes,
  historyMaxTopics: HISTORY_LIMIT_DEFAULTS.maxTopics,
  // They apply once `compression` is on.
  compressionThresholdBytes: COMPRESSION_DEFAULTS.thresholdBytes,
  compressionLevel: COMPRESSION_DEFAULTS.level,
  compressionMemLevel: COMPRESSION_DEFAULTS.memLevel,
  compressionConcurrency: COMPRESSION_DEFAULTS.concurrency,
  metrics: true,
  dashboard: true,
  tasksMaxPerQueue: SNAPSHOT_DEFAULTS.maxTasksPerQueue,
  tasksTtlMs: SNAPSHOT_DEFAULTS.ttlMs,
  tasksProgressPerSecond: COALESCER_DEFAULTS.progressPerSecond,
  tasksHistorySize: ADMIN_FEED_DEFAULTS.tasksHistorySize,
  publishMaxBytes: PUBLISH_DEFAULTS.maxBytes,
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
    // A quarter of the standard history bounds; one stored message may still be as large as one frame.
    historyMaxTopicBytes: 2 * MiB,
    historyMaxTotalBytes: 16 * MiB,
    inboundBacklogBytes: 256 * 1024,
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
  metricsToken: 'TETHER_METRICS_TOKEN',
  redis: 'REDIS_URL',
  redisCluster: 'TETHER_REDIS_CLUSTER',
  redisPrefix: 'TETHER_REDIS_PREFIX',
  nodeId: 'TETHER_NODE_ID',
  workers: 'TETHER_WORKERS',
  logLevel: 'LOG_LEVEL',
  logFormat: 'TETHER_LOG_FORMAT',
  allowedOrigins: 'TETHER_ALLOWED_ORIGINS',
  maxConnections: 'TETHER_MAX_CONNECTIONS',
  backlog: 'TETHER_BACKLOG',
  maxFrameBytes: 'TETHER_MAX_FRAME_BYTES',
  maxChannelsPerConnection: 'TETHER_MAX_CHANNELS_PER_CONNECTION',
  idleTimeoutMs: 'TETHER_IDLE_TIMEOUT_MS',
  outboundBudgetBytes: 'TETHER_OUTBOUND_BUDGET_BYTES',
  slowConsumerGraceMs: 'TETHER_SLOW_CONSUMER_GRACE_MS',
  outboundHardCapBytes: 'TETHER_OUTBOUND_HARD_CAP_BYTES',
  framesPerTurn: 'TETHER_FRAMES_PER_TURN',
  readBacklogFrames: 'TETHER_READ_BACKLOG_FRAMES',
  readBacklogBytes: 'TETHER_READ_BACKLOG_BYTES',
  closeGraceMs: 'TETHER_CLOSE_GRACE_MS',
  messagesPerSecond: 'TETHER_MESSAGES_PER_SECOND',
  messageBurst: 'TETHER_MESSAGE_BURST',
  joinsPerSecond: 'TETHER_JOINS_PER_SECOND',
  joinBurst: 'TETHER_JOIN_BURST',
  connectTimeoutMs: 'TETHER_CONNECT_TIMEOUT_MS',
  handshakeTimeoutMs: 'TETHER_HANDSHAKE_TIMEOUT_MS',
  maxPendingHandshakes: 'TETHER_MAX_PENDING_HANDSHAKES',
  inboundBacklogMessages: 'TETHER_INBOUND_BACKLOG_MESSAGES',
  inboundBacklogBytes: 'TETHER_INBOUND_BACKLOG_BYTES',
  sweepIntervalMs: 'TETHER_SWEEP_INTERVAL_MS',
  presenceBatchMs: 'TETHER_PRESENCE_BATCH_MS',
  drainBatchSize: 'TETHER_DRAIN_BATCH_SIZE',
  drainIntervalMs: 'TETHER_DRAIN_INTERVAL_MS',
  drainTimeoutMs: 'TETHER_DRAIN_TIMEOUT_MS',
  drainReconnectWindowMs: 'TETHER_DRAIN_RECONNECT_WINDOW_MS',
  drainHandoverMs: 'TETHER_DRAIN_HANDOVER_MS',
  longPollWindowMs: 'TETHER_LONG_POLL_WINDOW_MS',
  longPollIdleMs: 'TETHER_LONG_POLL_IDLE_MS',
  longPollSecret: 'TETHER_LONG_POLL_SECRET',
  longPollMaxBodyBytes: 'TETHER_LONG_POLL_MAX_BODY_BYTES',
  longPollMaxFramesPerPost: 'TETHER_LONG_POLL_MAX_FRAMES_PER_POST',
  longPollMaxQueuedMessages: 'TETHER_LONG_POLL_MAX_QUEUED_MESSAGES',
  dedupWindowSize: 'TETHER_DEDUP_WINDOW_SIZE',
  dedupTtlMs: 'TETHER_DEDUP_TTL_MS',
  dedupMaxClients: 'TETHER_DEDUP_MAX_CLIENTS',
  historyMaxMessages: 'TETHER_HISTORY_MAX_MESSAGES',
  historyMaxMessageBytes: 'TETHER_HISTORY_MAX_MESSAGE_BYTES',
  historyMaxTopicBytes: 'TETHER_HISTORY_MAX_TOPIC_BYTES',
  historyMaxTotalBytes: 'TETHER_HISTORY_MAX_TOTAL_BYTES',
  historyMaxTopics: 'TETHER_HISTORY_MAX_TOPICS',
  historyIdleMs: 'TETHER_HISTORY_IDLE_MS',
  compression: 'TETHER_COMPRESSION',
  compressionThresholdBytes: 'TETHER_COMPRESSION_THRESHOLD_BYTES',
  compressionLevel: 'TETHER_COMPRESSION_LEVEL',
  compressionMemLevel: 'TETHER_COMPRESSION_MEM_LEVEL',
  compressionConcurrency: 'TETHER_COMPRESSION_CONCURRENCY',
  tlsCert: 'TETHER_TLS_CERT',
  tlsKey: 'TETHER_TLS_KEY',
  tlsCa: 'TETHER_TLS_CA',
  metrics: 'TETHER_METRICS',
  dashboard: 'TETHER_DASHBOARD',
  jwtSecret: 'TETHER_JWT_SECRET',
  tasks: 'TETHER_TASKS',
  tasksRedis: 'TETHER_TASKS_REDIS',
  tasksMaxPerQueue: 'TETHER_TASKS_MAX_PER_QUEUE',
  tasksTtlMs: 'TETHER_TASKS_TTL_MS',
  tasksProgressPerSecond: 'TETHER_TASKS_PROGRESS_PER_SECOND',
  tasksHistorySize: 'TETHER_TASKS_HISTORY_SIZE',
  publishToken: 'TETHER_PUBLISH_TOKEN',
  publishMaxBytes: 'TETHER_PUBLISH_MAX_BYTES',
};

/** One line per key: the flag's help text and the description in docs/operations.md. */
export const CONFIG_HELP: Record<ConfigKey, string> = {
  preset: 'starting values for the limits: standard, high-throughput or low-memory',
  port: 'port to listen on (0 picks a free one)',
  host: 'address to bind; anything but loopback needs an admin token for the dashboard',
  mount: 'socket path; clients connect to MOUNT/websocket',
  token: 'require this token from clients (connect param "token" or Phoenix authToken)',
  adminToken: 'token for the dashboard and the tether:admin channel',
  metricsToken: 'require this bearer token on /metrics (Authorization: Bearer TOKEN)',
  redis: 'scale out through Redis at this URL (default: in-memory, one process)',
  redisCluster: 'scale out through a Redis Cluster: comma-separated seed node URLs (Redis 7+; not with --redis)',
  redisPrefix: 'prefix of every Redis key and channel; nodes with the same prefix form one cluster',
  nodeId: 'this process in the cluster, unique among live nodes (default: random node-xxxxxxxx)',
  workers: 'worker processes on one port, each a node named NODEID-wI: a number or "auto" (one per core); needs redis or redisCluster (default: one process)',
  logLevel: 'log level: fatal, error, warn, info, debug, trace or silent',
  logFormat: 'auto (readable on a terminal, JSON lines otherwise), json or pretty',
  allowedOrigins: 'comma-separated allowed Origins, or "false" to turn the check off (default: on a loopback bind, loopback pages with a loopback Host only; otherwise the same host)',
  maxConnections: 'open connections beyond which upgrades get HTTP 503',
  backlog: 'queue of TCP connections not yet accepted (listen backlog, capped by net.core.somaxconn)',
  maxFrameBytes: 'largest accepted client frame; bigger closes with 1009',
  maxChannelsPerConnection: 'joined channels per connection ("too many channels joined" after)',
  idleTimeoutMs: 'close a connection that sent nothing for this long (code 4000)',
  outboundBudgetBytes: 'bytes a connection may have buffered for sending',
  slowConsumerGraceMs: 'how long a connection may stay over its budget before it is closed (code 4001)',
  outboundHardCapBytes: 'most bytes queued for one connection; a frame that would pass it closes the connection at once (code 4001) (default 1.5x the budget)',
  framesPerTurn: 'client frames of one connection handled per event-loop turn before other connections get theirs',
  readBacklogFrames: 'client frames waiting for their turn beyond which the connection is not read (TCP pushes back)',
  readBacklogBytes: 'bytes of client frames waiting for their turn beyond which the connection is not read',
  closeGraceMs: 'after the server sends a close frame, cut a peer that has not answered it within this long',
  messagesPerSecond: 'frames a connection may send per second (heartbeats included); over it a frame is refused',
  messageBurst: 'frames allowed at once after a quiet spell; one more burst of refusals closes with 4002',
  joinsPerSecond: 'joins a connection may send per second (counted apart from other frames)',
  joinBurst: 'joins allowed at once (a reconnect rejoins every channel together)',
  connectTimeoutMs: 'refuse an upgrade (HTTP 503) whose connect hook has not settled within this long',
  handshakeTimeoutMs: 'destroy a connection that has not sent a complete request head (its upgrade request) within this long',
  maxPendingHandshakes: 'connections still sending their request head beyond which new ones are destroyed at once',
  inboundBacklogMessages: 'frames one channel may hold while its join or an async handler runs; one more run of refusals closes with 4003',
  inboundBacklogBytes: 'bytes of frames one channel may hold while its join or an async handler runs',
  sweepIntervalMs: 'period of the one timer that checks idleness and budgets',
  presenceBatchMs: 'collect presence changes this long into one presence_diff (0 = end of the current task)',
  drainBatchSize: 'connections closed (code 1012) per step when shutting down',
  drainIntervalMs: 'pause between drain steps',
  drainTimeoutMs: 'how long shutdown waits for clients to finish closing',
  drainReconnectWindowMs: 'opted-in Tether clients spread their return over this window after a drain (about the restart time)',
  drainHandoverMs: 'Tether clients with another endpoint get this long to open their link there before their 1012',
  longPollWindowMs: 'how long a long-poll GET waits for messages before it answers {"status":204}',
  longPollIdleMs: 'end a long-poll session with no request for this long (as a dropped socket: channels leave, presence goes)',
  longPollSecret: 'HMAC key of long-poll session tokens, at least 32 characters; set the same on every node (default: random per process)',
  longPollMaxBodyBytes: 'largest long-poll POST body; bigger gets {"status":413} and ends the session (1009)',
  longPollMaxFramesPerPost: 'frames in one long-poll POST; more gets {"status":413} and ends the session (1009)',
  longPollMaxQueuedMessages: 'messages queued for a long-poll session between polls; one more ends it as a slow consumer (4001)',
  dedupWindowSize: 'resent-push ids remembered per client for de-duplication (createServer dedup.maxEntriesPerClient)',
  dedupTtlMs: 'how long a push id is remembered after it was last seen (dedup.ttlMs)',
  dedupMaxClients: 'clients whose push ids are remembered at once (dedup.maxClients)',
  historyMaxMessages: 'stored messages per topic, a ceiling over each channel policy (history.maxMessages; memory and Redis)',
  historyMaxMessageBytes: 'a larger message is broadcast but not stored; a rejoin across it is not recovered (memory and Redis)',
  historyMaxTopicBytes: 'stored bytes per topic, oldest evicted first (history.maxTopicBytes; memory broker)',
  historyMaxTotalBytes: 'stored bytes of all topics, oldest evicted first (history.maxTotalBytes; memory broker)',
  historyMaxTopics: 'topics with history kept at once; past it the least recently appended goes (memory broker)',
  historyIdleMs: 'drop the history of a topic with no subscriber and no append for this long (default: its TTL; Redis: 24 h)',
  compression: 'offer permessage-deflate (server_no_context_takeover: each broadcast is compressed once for all its subscribers)',
  compressionThresholdBytes: 'messages smaller than this go uncompressed',
  compressionLevel: 'zlib level of compressed messages, 0-9',
  compressionMemLevel: 'zlib memLevel, 1-9: memory of each deflate stream against ratio',
  compressionConcurrency: 'per-socket zlib jobs (replies, pushes, client messages) running at once; more wait',
  tlsCert: 'serve wss:// and https:// with this certificate chain (PEM file; needs --tls-key; TLS 1.2 at least)',
  tlsKey: 'private key of --tls-cert (PEM file)',
  tlsCa: 'extra CA certificates sent with the chain (PEM file)',
  metrics: 'serve Prometheus metrics at /metrics',
  dashboard: 'serve the live dashboard at / (and the tether:admin channel)',
  jwtSecret: "verify HS256 tokens (param \"token\" or authToken): the token's sub is the user id, owner of user:<sub>",
  tasks: 'BullMQ queues to bridge to the task topics, several words or a comma list (needs Redis: tasksRedis or redis)',
  tasksRedis: "BullMQ's Redis for the bridge (default: the broker's redis, else REDIS_URL)",
  tasksMaxPerQueue: 'task snapshots kept per queue, most recently updated first',
  tasksTtlMs: 'forget a task snapshot (and queue counters) not updated for this long',
  tasksProgressPerSecond: 'progress updates sent per task per second at most (latest wins); counters too, per queue',
  tasksHistorySize: "the dashboard Tasks view's counter samples kept for a page that opens later (one a second)",
  publishToken: 'enable POST /api/publish for workers, with this bearer token',
  publishMaxBytes: 'largest accepted POST /api/publish body (bigger gets 413)',
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
  // A union is a list when one of its forms is (allowedOrigins: a list or false); `workers` is a number or "auto".
  if (type === 'array') return 'list';
  if (type === 'union') return (field as z.ZodUnion)._zod.def.options.some((o) => o._zod.def.type === 'array') ? 'list' : 'string';
  return 'string';
}

/** The keys that createServer takes as they are. */
export const SERVER_OPTION_KEYS = [
  'port', 'host', 'mount', 'allowedOrigins', 'maxConnections', 'backlog', 'maxFrameBytes', 'maxChannelsPerConnection',
  'idleTimeoutMs', 'outboundBudgetBytes', 'slowConsumerGraceMs', 'outboundHardCapBytes', 'framesPerTurn',
  'readBacklogFrames', 'readBacklogBytes', 'closeGraceMs', 'messagesPerSecond',
  'messageBurst', 'joinsPerSecond', 'joinBurst', 'connectTimeoutMs', 'handshakeTimeoutMs', 'maxPendingHandshakes',
  'inboundBacklogMessages', 'inboundBacklogBytes', 'sweepIntervalMs', 'presenceBatchMs',
  'drainBatchSize', 'drainIntervalMs', 'drainTimeoutMs', 'drainReconnectWindowMs', 'drainHandoverMs',
  'longPollWindowMs', 'longPollIdleMs', 'longPollSecret', 'longPollMaxBodyBytes', 'longPollMaxFramesPerPost', 'longPollMaxQueuedMessages',
] as const satisfies readonly ConfigKey[];

/** createServer's `history` option (the memory broker's bounds), from the `history*` keys. */
export interface HistoryBounds {
  maxMessages: number;
  maxMessageBytes: number;
  maxTopicBytes: number;
  maxTotalBytes: number;
  maxTopics: number;
  idleMs?: number;
}

export type ServerLimits = Pick<ServeConfig, (typeof SERVER_OPTION_KEYS)[number]> & {
  compression: false | CompressionOptions;
  dedup: { maxEntriesPerClient: number; ttlMs: number; maxClients: number };
  history: HistoryBounds;
};

export function historyBounds(config: ServeConfig): HistoryBounds {
  const bounds: HistoryBounds = {
    maxMessages: config.historyMaxMessages,
    maxMessageBytes: config.historyMaxMessageBytes,
    maxTopicBytes: config.historyMaxTopicBytes,
    maxTotalBytes: config.historyMaxTotalBytes,
    maxTopics: config.historyMaxTopics,
  };
  if (config.historyIdleMs !== undefined) bounds.idleMs = config.historyIdleMs;
  return bounds;
}

/** The part of the configuration that goes to createServer (spread it into the options); dedup and history keys nest. */
export function serverOptions(config: ServeConfig): ServerLimits {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_OPTION_KEYS) if (config[key] !== undefined) out[key] = config[key];
  out.dedup = { maxEntriesPerClient: config.dedupWindowSize, ttlMs: config.dedupTtlMs, maxClients: config.dedupMaxClients };
  out.history = historyBounds(config);
  out.compression = config.compression
    ? { thresholdBytes: config.compressionThresholdBytes, level: config.compressionLevel, memLevel: config.compressionMemLevel, concurrency: config.compressionConcurrency }
    : false;
  return out as ServerLimits;
}
