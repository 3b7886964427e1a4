/** The seam between a Channel and its Socket (internal). */
import type { ClientErrorCode, TetherClientError } from './errors.ts';
import type { Outbox } from './outbox.ts';
import type { Push, PushHost } from './push.ts';

/** What a Channel needs from its socket. Internal; not part of the public API. */
export interface SocketLink extends PushHost {
  readonly isOpen: boolean;
  readonly outbox: Outbox;
  readonly outboxReady: boolean;
  readonly pushTimeoutMs: number;
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
  /** The channel on `topic` ended; `owner` is that channel (a newer one for the topic is kept). */
  forget(topic: string, owner: object): void;
}
