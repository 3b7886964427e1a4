/** `tether-rt/tasks/server`: the server side of live task queues (docs/tasks.md). Node only. */
export { TaskHub, type TaskHubOptions, type TaskHubServer, type PublishResult, type SubscriberCensus } from './hub.ts';
export { RedisSubscriberCensus, type RedisCensusOptions } from './census-redis.ts';
export { taskChannels, type TaskAuthorizer, type TaskChannelsOptions } from './channels.ts';
export { Coalescer, COALESCER_DEFAULTS, type CoalescerOptions } from './coalescer.ts';
export { MemorySnapshotStore, SNAPSHOT_DEFAULTS, type SnapshotStore, type SnapshotLimits } from './snapshots.ts';
export { RedisSnapshotStore, type RedisSnapshotStoreOptions } from './snapshots-redis.ts';
export { jwtConnect, MIN_JWT_SECRET_BYTES, type JwtConnectOptions } from './auth.ts';
export { BullMQBridge, BRIDGE_DEFAULTS, bullConnection, type BullMQBridgeOptions } from './bullmq-bridge.ts';
export { taskEventOfBullMQ, progressOf, BULLMQ_EVENTS, type BullMQEventName, type BullMQEventArgs } from './bullmq-events.ts';
export { createPublishRoute, PUBLISH_DEFAULTS, type PublishRouteOptions } from './http-publish.ts';
export { taskOverview, OVERVIEW_DEFAULTS, type TaskOverview, type TaskOverviewOptions } from './overview.ts';
