export type * from './types.ts';
export { MemoryBroker, type MemoryBrokerOptions } from './memory.ts';
export { InboxError, INBOX_DEFAULTS, type InboxOptions } from './inbox.ts';
export { MemoryHistoryStore, type MemoryHistoryOptions } from './history-memory.ts';
export { RedisBroker, type RedisBrokerOptions } from './redis.ts';
export { RedisHistoryStore } from './history-redis.ts';
export type { BrokerTimers } from './timers.ts';
