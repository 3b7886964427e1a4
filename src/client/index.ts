/** `tether-rt/client`: a resilient Phoenix-channels client for Node and browsers. */
export { Socket, type SocketOptions, type SocketEvents, type TokenContext } from './socket.ts';
export type { JoinRecoveryContext } from '../protocol/extension.ts';
export { Channel, type ChannelOptions, type ChannelEvents, type ChannelStateReason, type DefaultEvents, type JoinParams, type OutgoingPayload, type PushOptions } from './channel.ts';
export { Push, PushPhases, type PushPhase, type PushResult, type PushStatus } from './push.ts';
export { fullJitterBackoff, outageBackoff, OUTAGE_BACKOFF_DEFAULTS, type FullJitterOptions, type OutageBackoffOptions, type RetryContext, type RetryPolicy } from './backoff.ts';
export { SocketStates, ChannelStates, TransitionReasons, type SocketState, type ChannelState, type StateTransition, type TransitionReason } from './states.ts';
export { TetherClientError, ClientErrorCodes, type ClientErrorCode } from './errors.ts';
export { OUTBOX_DEFAULTS, type OutboxOptions } from './outbox.ts';
export { MemoryOutboxStore, type OutboxStore, type StoredMessage } from './outbox-store.ts';
export { globalWebSocketTransport, type Transport, type TransportClose, type TransportFactory, type TransportHandlers } from './transport.ts';
export { wsTransport, type DeflateOffer, type WsTransportOptions } from './transport-ws.ts';
export { longPollTransport, LONGPOLL_DEFAULTS, type LongPollTransportOptions } from './transport-longpoll.ts';
export { FALLBACK_MEMO_KEY } from './transport-fallback.ts';
export type { PageEnvironment } from './browser.ts';
export type { Clock } from './clock.ts';
export type { SocketStats } from './stats.ts';
export type { Frame, Payload, JsonObject } from '../protocol/index.ts';
export { Presence, PRESENCE_DEFAULTS, type PresenceChannel, type PresenceDiff, type PresenceEntry, type PresenceJoinCallback, type PresenceLeaveCallback, type PresenceMeta, type PresenceOptions, type PresenceState } from './presence.ts';
