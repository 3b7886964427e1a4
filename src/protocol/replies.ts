/** Builders for the frames whose exact shape Phoenix fixes; both sides use them so the bytes match. */
import { Events, HEARTBEAT_TOPIC, ReplyReasons } from './events.ts';
import type { Frame, JsonObject, Payload } from './frame.ts';

const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

/** `phx_reply` with `{response, status}` (Phoenix's key order: response first). */
export function replyFrame(joinRef: string | null, ref: string | null, topic: string, status: string, response: Payload = EMPTY): Frame {
  return { joinRef, ref, topic, event: Events.reply, payload: { response, status } };
}

export function heartbeatReply(ref: string | null): Frame {
  return replyFrame(null, ref, HEARTBEAT_TOPIC, 'ok');
}

/** Phoenix always sends this with a null join_ref, whatever the request carried. */
export function unmatchedTopicReply(ref: string | null, topic: string): Frame {
  return replyFrame(null, ref, topic, 'error', { reason: ReplyReasons.unmatchedTopic });
}

export function closeFrame(joinRef: string | null, topic: string): Frame {
  return { joinRef, ref: joinRef, topic, event: Events.close, payload: {} };
}

export function crashFrame(joinRef: string | null, topic: string): Frame {
  return { joinRef, ref: joinRef, topic, event: Events.error, payload: { reason: ReplyReasons.channelCrash } };
}
