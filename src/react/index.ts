/** `tether-rt/react`: React (18+) bindings for the Tether client. */
export { TetherProvider, useSocket, useSocketState, useTetherRuntime, type TetherProviderProps, type TetherRuntime } from './provider.ts';
export { useChannel, useEvent, usePresence, type PresenceItem, type UseChannelResult } from './hooks.ts';
export { UPDATE_BATCH_DEFAULTS, UpdateBatcher, type FrameSource, type UpdateBatcherOptions, type UpdateMode } from './batch.ts';
export type { ChannelSnapshot } from './registry.ts';
export { useTask, useQueue, type UseTaskResult, type UseQueueResult } from './tasks.ts';
