/** Reserved Phoenix event names and topics. Application events must not start with `phx_` or `chan_reply_`. */
export const Events = {
  join: 'phx_join',
  leave: 'phx_leave',
  reply: 'phx_reply',
  close: 'phx_close',
  error: 'phx_error',
  heartbeat: 'heartbeat',
  presenceState: 'presence_state',
  presenceDiff: 'presence_diff',
} as const;
export type ReservedEvent = (typeof Events)[keyof typeof Events];

/** Heartbeats travel on this topic and need no join. */
export const HEARTBEAT_TOPIC = 'phoenix';

/** Reply reasons Phoenix sends verbatim; clients match on these strings. */
export const ReplyReasons = {
  unmatchedTopic: 'unmatched topic',
  joinCrashed: 'join crashed',
  tooManyChannels: 'too many channels joined',
  channelCrash: 'channel_crash',
  /** Tether's: the handler's reply could not be encoded (too deep, a cycle, a BigInt, a binary field over 255 bytes). */
  unencodableReply: 'unencodable reply',
} as const;

export function isReservedEventName(event: string): boolean {
  return event.startsWith('phx_') || event.startsWith('chan_reply_');
}
