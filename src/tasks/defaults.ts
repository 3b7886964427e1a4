/**
 * The defaults of the task server's bounds, kept in the bundle-safe layer so `ops` (config, flags, env) reads
 * them from here instead of restating the numbers. Imports nothing.
 */
export const SNAPSHOT_DEFAULTS = { maxTasksPerQueue: 1000, ttlMs: 3_600_000, maxQueues: 1000 } as const;

export const COALESCER_DEFAULTS = { progressPerSecond: 10, statusPerSecond: 10, maxTracked: 10_000 } as const;

export const PUBLISH_DEFAULTS = { maxBytes: 65_536, maxEvents: 100, path: '/api/publish' } as const;
