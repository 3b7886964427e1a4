/** A channel's share of the socket's outbox: sending its queue in order, and what becomes of its messages when the link is lost or the channel ends. */
import { TetherClientError } from './errors.ts';
import { expire, type SocketLink } from './link.ts';
import type { Push } from './push.ts';

/** Sends every queued message for `topic`, in order, under `joinRef`; stops at the first that cannot be sent. */
export function flushQueued(link: SocketLink, topic: string, joinRef: string | null): void {
  const outbox = link.outbox;
  for (let push = outbox.head(topic); push; push = outbox.head(topic)) {
    if (push.expiresAt !== null && push.expiresAt <= link.clock.now()) {
      expire(push, link);
      continue;
    }
    push.disarm();
    outbox.markSent(push);
    if (link.transmit(push, joinRef)) push.arm(push.timeoutMs, () => push.settle({ status: 'timeout' }));
    else if (!push.settled) return requeue(link, push);
  }
}

/** The link or channel was lost: messages in flight on `topic` are queued again or settle `disconnected` (outbox.inFlightOnLoss). */
export function loseInFlight(link: SocketLink, topic: string): void {
  const outbox = link.outbox;
  for (const push of outbox.inFlightFor(topic)) {
    if (outbox.inFlightOnLoss === 'resend') {
      push.disarm();
      link.unregister(push);
      requeue(link, push);
    } else push.settle({ status: 'disconnected' });
  }
}

/** Back to the head of the queue (by acceptance order), with its TTL running again. */
function requeue(link: SocketLink, push: Push<unknown>): void {
  link.outbox.requeue(push);
  if (push.expiresAt !== null) push.arm(Math.max(0, push.expiresAt - link.clock.now()), () => expire(push, link));
}

/** The channel ended: every unsent message for `topic` is rejected with `channel_closed`. */
export function rejectQueued(link: SocketLink, topic: string, why: string): void {
  const outbox = link.outbox;
  for (let push = outbox.head(topic); push; push = outbox.head(topic)) {
    push.settle({ status: 'rejected', error: new TetherClientError('channel_closed', `"${push.event}" was not sent: the channel "${topic}" ended before it could be (${why}).`, { topic }) });
  }
}
