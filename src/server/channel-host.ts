/**
 * The seam between a joined channel and the connection it lives on (internal, like the client's SocketLink):
 * everything a ChannelInstance may ask of its connection and, through it, of the server. Connection implements
 * it; a channel never reaches the server core.
 */
import type { HistoryStore } from '../broker/types.ts';
import type { Frame, JsonObject, Payload } from '../protocol/frame.ts';
import type { BroadcastResult, Reply } from './channel.ts';
import type { Subscriber } from './fanout.ts';
import type { ObserverSet } from './observer.ts';
import type { Presence } from './presence.ts';
import type { PushDeduplicator } from './recovery/push-dedup.ts';
import type { SharedFrame } from './transport.ts';

/** The inbound backlog each channel may keep while a handler runs (options of the same names). */
export interface BacklogLimits {
  inboundBacklogMessages: number;
  inboundBacklogBytes: number;
}

/** What a channel instance needs from its connection and server. Internal; not part of the public API. */
export interface ChannelHost {
  /** The connection's id, as observer hooks report it. */
  readonly id: string;
  /** The id the connect hook gave, or null. */
  readonly socketId: string | null;
  readonly vsn: 1 | 2;
  readonly origin: string | null;
  readonly sameOrigin: boolean;
  readonly connectParams: Readonly<Record<string, string>>;
  /** The connect hook's assigns; never mutated (a channel copies them on first use). */
  readonly assigns: Readonly<Record<string, unknown>>;
  readonly backlog: BacklogLimits;
  /** Instrumentation hooks, error reporting among them. */
  readonly observers: ObserverSet;
  readonly presence: Presence;
  /** Where a recovering join reads what it missed. */
  readonly history: HistoryStore;
  /** Outbox ids of recent pushes per client (effectively-once pushes of opted-in connections). */
  readonly dedup: PushDeduplicator;
  send(frame: Frame): void;
  /** A broadcast encoded once for all its subscribers. */
  sendShared(frame: SharedFrame): void;
  /** Sends what `write` sends as one write to the OS where the transport can. */
  corked(write: () => void): void;
  /** `meta` (Tether's V2 meta element) is only ever given for opted-in connections. */
  sendReply(joinRef: string | null, ref: string | null, topic: string, reply: Reply, meta?: JsonObject): void;
  close(code: number, reason: string): void;
  /** Broadcasts through the broker, to all subscribers or (`excludeSelf`) all but this connection; never rejects. */
  publish(topic: string, event: string, payload: Payload, excludeSelf: boolean): Promise<BroadcastResult>;
  /** Adds the channel to local fan-out: a promise while the broker subscription is made, else null. */
  subscribe(channel: Subscriber): Promise<void> | null;
  unsubscribe(channel: Subscriber): void;
  /** The channel ended: forgotten if it is still the current instance of its topic. */
  forget(channel: Subscriber): void;
}
