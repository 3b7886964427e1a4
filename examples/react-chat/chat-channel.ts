/**
 * The server side of the React chat example: `chat:*` rooms where each connection is present under its
 * `user` connect param and `message` pushes are broadcast to the room as `{user, body}`.
 */
import { error, ok, type ChannelDefinition } from '../../src/server/index.ts';

/** Longest accepted user name and message body, in characters. */
export const CHAT_LIMITS = { userChars: 64, bodyChars: 2000 } as const;

export const chatChannel: ChannelDefinition = {
  join(_topic, _params, socket) {
    const user = socket.connectParams.user ?? '';
    if (user === '' || user.length > CHAT_LIMITS.userChars) return error({ reason: `connect with a user param of 1 to ${CHAT_LIMITS.userChars} characters` });
    return ok({});
  },
  afterJoin(socket) {
    socket.presence.track(socket, socket.connectParams.user, { online_at: Date.now() });
    socket.push('presence_state', socket.presence.list(socket.topic));
  },
  handleIn(event, payload, socket) {
    const body = payload instanceof Uint8Array ? undefined : payload.body;
    if (event !== 'message' || typeof body !== 'string' || body.length === 0 || body.length > CHAT_LIMITS.bodyChars) {
      return error({ reason: `send "message" with a body of 1 to ${CHAT_LIMITS.bodyChars} characters` });
    }
    socket.broadcast('message', { user: socket.connectParams.user, body });
    return ok({});
  },
};
