/** The application-facing channel API: what a channel definition implements and what its handlers may call. */
import type { HistoryPolicy } from '../broker/types.ts';
import type { JsonObject, Payload } from '../protocol/frame.ts';
import type { Presence } from './presence.ts';

/** A reply to a join or a client push: `ok(…)`, `error(…)`, or any other status Phoenix allows. */
export interface Reply {
  readonly status: string;
  readonly response: Payload;
}

const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

export function ok(response: Payload = EMPTY): Reply {
  return { status: 'ok', response };
}

export function error(response: Payload = EMPTY): Reply {
  return { status: 'error', response };
}

/** Why a broadcast did not go out: the broker refused or failed the publish, or the payload cannot be kept. */
export type BroadcastFailure = 'broker_error' | 'not_storable';

/**
 * What `broadcast` resolves to; it never rejects, so an ignored result cannot crash anything. A failure is also
 * reported to the `error` hook and counted by the `broadcastFailed` hook (`tether_broadcast_failures_total`).
 */
export type BroadcastResult = { ok: true } | { ok: false; reason: BroadcastFailure; message: string };

/** Identifies one client push so a handler can answer it later with `socket.reply(ref, …)`. */
export interface SocketRef {
  readonly topic: string;
  readonly joinRef: string | null;
  readonly ref: string | null;
}

/**
 * Why a channel ended, as `terminate` and the `channelLeft` hook see it. `gap`: the broker lost messages the
 * history could not give back, and the client was told to rejoin (phx_error).
 */
export type LeaveReason = 'leave' | 'close' | 'crash' | 'duplicate_join' | 'disconnect' | 'gap';

/** The handle every channel callback receives: one joined topic on one connection. */
export interface ChannelSocket {
  readonly topic: string;
  /** The ref of the join that created this channel instance (null when a V1 client sent none). */
  readonly joinRef: string | null;
  /** The server-assigned connection id (unique per connection). */
  readonly connectionId: string;
  /** The id the connect hook gave this socket, or null. `server.disconnect(id)` closes all its sockets. */
  readonly id: string | null;
  /** The query parameters of the WebSocket request (vsn included, as Phoenix passes it); a null-prototype object. */
  readonly connectParams: Readonly<Record<string, string>>;
  /** The `Origin` header of the connection's upgrade request: null when it had none (not a browser). */
  readonly origin: string | null;
  /** True when that Origin names the host and port the request was sent to (a page this server served). */
  readonly sameOrigin: boolean;
  /** Starts as a copy of the connect hook's assigns; per channel and freely mutable; a null-prototype object. */
  readonly assigns: Record<string, unknown>;
  readonly presence: Presence;
  /** Sends an event to this client only (`[join_ref, null, topic, event, payload]`). */
  push(event: string, payload: Payload): void;
  /** Sends to every subscriber of this topic on every node, this client included. Never rejects. */
  broadcast(event: string, payload: Payload): Promise<BroadcastResult>;
  /** Like `broadcast`, but skips this client. */
  broadcastFrom(event: string, payload: Payload): Promise<BroadcastResult>;
  /** The push being handled, for a deferred `reply`; only valid inside `handleIn`. */
  socketRef(): SocketRef;
  reply(ref: SocketRef, reply: Reply): void;
}

/**
 * What `handleIn` returns: a Reply to answer the push, or nothing for no reply (answer later with
 * `socket.reply(socket.socketRef(), …)` if at all). Throwing (or rejecting) crashes the channel: the client
 * gets `phx_error` and the push no reply, as in Phoenix.
 */
export type HandleInResult = Reply | undefined | void;

export interface ChannelDefinition {
  /**
   * Accept with `ok()` / `ok(reply)` (or by returning nothing), refuse with `error({reason})`. Throwing gives
   * the client `{"reason":"join crashed"}`.
   */
  join(topic: string, params: JsonObject, socket: ChannelSocket): Reply | undefined | void | Promise<Reply | undefined | void>;
  /** Runs once the join's ok reply has been written (Phoenix's `send(self(), :after_join)`). */
  afterJoin?(socket: ChannelSocket): void | Promise<void>;
  /** Messages of one channel are handled in order: an async handler holds the next until it settles. */
  handleIn?(event: string, payload: Payload, socket: ChannelSocket): HandleInResult | Promise<HandleInResult>;
  /** Broadcast events routed to `handleOut` instead of straight to the client. */
  intercept?: readonly string[];
  /** Decides per subscriber what an intercepted broadcast becomes, usually `socket.push(event, payload)`. */
  handleOut?(event: string, payload: Payload, socket: ChannelSocket): void | Promise<void>;
  terminate?(reason: LeaveReason, socket: ChannelSocket): void;
  /**
   * Keep this many messages / this long of every matching topic's broadcasts, so a rejoining client gets
   * what it missed (docs/recovery.md). Off by default; incompatible with `intercept`.
   */
  history?: HistoryPolicy;
}
