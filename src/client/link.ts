/** The seam between a Channel and its Socket (internal), and the outbox expiry both of them apply. */
import type { Channel, ChannelOptions } from './channel.ts';
import type { ClientErrorCode, TetherClientError } from './errors.ts';
import type { Outbox } from './outbox.ts';
import { utf8Length } from './endpoint.ts';
import type { StoredMessage } from './outbox-store.ts';
import { Push, type PushHost } from './push.ts';

/** What a Channel needs from its socket. Internal; not part of the public API. */
export interface SocketLink extends PushHost {
  readonly isOpen: boolean;
  readonly outbox: Outbox;
  readonly outboxReady: boolean;
  readonly pushTimeoutMs: number;
  readonly channelDefaults: ChannelOptions;
  makeRef(): string;
  nextMessageId(): string;
  nextSeq(): number;
  /**
   * Registers `push` for its reply under a fresh ref and writes it; false if the socket is not open or the frame
   * could not be encoded. `ownJoinRef`: the frame's join_ref is its own ref (a join).
   */
  transmit(push: Push<unknown>, joinRef: string | null, ownJoinRef?: boolean): boolean;
  /** Stops routing replies to `push` (it will be sent again under a new ref). */
  unregister(push: Push<unknown>): void;
  /** Builds the error and emits it as a socket `error` event (unless `silent`). */
  reportError(code: ClientErrorCode, message: string, options?: { topic?: string; cause?: unknown; silent?: boolean }): TetherClientError;
  /** Emits an error built elsewhere (a channel's) as a socket `error` event. */
  emitError(error: TetherClientError): void;
  countStale(): void;
  forget(channel: Channel<object, object>): void;
}

/** Settles an unsent message whose TTL passed. */
export function expire(push: Push<unknown>, link: SocketLink): void {
  const age = link.clock.now() - push.createdAt;
  push.settle({ status: 'rejected', error: link.reportError('outbox_expired', `"${push.event}" to ${push.topic} waited ${age} ms in the outbox without being sent and expired (ttl). Raise ttlMs, or resync once the channel is joined.`, { topic: push.topic, silent: true }) });
}

/** Puts a message from a durable store back in the outbox (same id and order), or settles it if it cannot be. */
export function restoreMessage(link: SocketLink, m: StoredMessage, now: number, track: (push: Push<unknown>) => void): void {
  const push = new Push<unknown>(link, { ...m, bytes: typeof m.body === 'string' ? utf8Length(m.body) : m.body.byteLength, inOutbox: true });
  track(push);
  const refused = link.outbox.admit(push, false);
  if (refused) push.settle({ status: 'rejected', error: refused });
  else if (m.expiresAt !== null && m.expiresAt <= now) expire(push, link);
  else if (m.expiresAt !== null) push.arm(m.expiresAt - now, () => expire(push, link));
}
