/** `tether-rt/tasks`: typed live task-queue updates for browsers and Node (docs/tasks.md). Bundle-safe. */
export * from './types.ts';
export { parseTaskEvent, taskEventSchema, taskUpdateSchema, queueStatusSchema, notificationSchema, type ParseResult } from './schema.ts';
export { watchQueue, watchTask, watchQueueStatus, watchUser, watchSystem, watchEventType } from './client.ts';
