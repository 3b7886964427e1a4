/**
 * One channel's view of the socket's outbox: accepting its pushes, sending its queue in order under the
 * current join_ref, and what becomes of its messages when the link is lost or the channel ends.
 */
import { TetherClientError } from './errors.ts';
import type { SocketLink } from './link.ts';
import type { Push } from './push.ts';

export class TopicOutbox {
  readonly topic: string;
  readonly #link: SocketLink;

  constructor(link: SocketLink, topic: string) {
    this.#link = link;
    this.topic = topic;
  }

  /** Accepts a push into the outbox, or settles it `rejected` (full, store failure). */
  accept(push: Push<unknown>): boolean {
    return this.#link.outbox.accept(push);
  }

  /** Sends every queued message, in order, under `joinRef`; stops at one whose store write has not finished. */
  flush(joinRef: string | null): void {
    const { outbox } = this.#link;
    for (let push = outbox.head(this.topic); push; push = outbox.head(this.topic)) {
      if (push.storePending) return;
      if (outbox.expireIfDue(push)) continue;
      outbox.markSent(push);
      if (this.#link.transmit(push, joinRef)) push.arm(push.timeoutMs, () => push.settle({ status: 'timeout' }));
      else if (!push.settled) return outbox.requeue(push);
    }
  }

  /** The link or the membership was lost: messages in flight are queued again or settle `disconnected` (outbox.inFlightOnLoss). */
  loseInFlight(): void {
    const { outbox } = this.#link;
    for (const push of outbox.inFlightFor(this.topic)) {
      if (outbox.inFlightOnLoss === 'resend') {
        this.#link.unregister(push);
        outbox.requeue(push);
      } else push.settle({ status: 'disconnected' });
    }
  }

  /** The channel ended: every unsent message is rejected with `channel_closed`. */
  rejectQueued(why: string): void {
    const { outbox } = this.#link;
    for (let push = outbox.head(this.topic); push; push = outbox.head(this.topic)) {
      push.settle({ status: 'rejected', error: new TetherClientError('channel_closed', `"${push.event}" was not sent: the channel "${this.topic}" ended before it could be (${why}).`, { topic: this.topic }) });
    }
  }
}
