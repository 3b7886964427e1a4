export { createServer, TetherServer, type ListenInfo } from './server.ts';
export { ok, error, type BroadcastFailure, type BroadcastResult, type ChannelDefinition, type ChannelSocket, type HandleInResult, type LeaveReason, type Reply, type SocketRef } from './channel.ts';
export type { ServerOptions, ConnectHook, ConnectInfo, ConnectResult } from './options.ts';
export { ServerOptionsError } from './options.ts';
export type { ServerObserver } from './observer.ts';
export { Presence, newPhxRef, type PresenceList, type PresenceMeta, type PresenceOwner } from './presence.ts';
export { systemClock, type Clock } from './clock.ts';
export { ServerCore, type Admission, type UpgradeRequest } from './core.ts';
export type { SharedFrame, TransportSocket } from './transport.ts';
