/**
 * The demo `room:*` channel of `tether serve`, the same contract as a minimal Phoenix app so the same client
 * scripts run against both: join any room but `room:private`; presence under the connect param `user`;
 * events echo, fail, shout, noreply, crash and binary.
 */
import { error, ok, type ChannelDefinition } from '../server/channel.ts';

export const roomChannel: ChannelDefinition = {
  join(topic) {
    if (topic === 'room:private') return error({ reason: 'unauthorized' });
    return ok({ joined: true });
  },

  afterJoin(socket) {
    const user = socket.connectParams.user;
    if (user) socket.presence.track(socket, user, { online_at: String(Math.floor(Date.now() / 1000)) });
    socket.push('presence_state', socket.presence.list(socket.topic));
  },

  handleIn(event, payload, socket) {
    switch (event) {
      case 'echo':
      case 'binary':
        return ok(payload);
      case 'fail':
        return error({ reason: 'nope' });
      case 'shout':
        socket.broadcast('shout', payload);
        return undefined;
      case 'noreply':
        return undefined;
      case 'crash':
        throw new Error('crash requested by the client');
      default:
        return error({ reason: `unknown event ${event}` });
    }
  },
};
