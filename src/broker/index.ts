export type * from './types.ts';
export { MemoryBroker, type MemoryBrokerOptions } from './memory.ts';
export { MemoryHistoryStore, type MemoryHistoryOptions } from './history-memory.ts';
