/**
 * The demo `room:*` channel of `tether serve`, the same contract as a minimal Phoenix app so the same client
 * scripts run against both: join any room but `room:private`; presence under the connect param `user`;
 * events echo, fail, shout, noreply, crash and binary.
 */
import type { HistoryPolicy } from '../broker/types.ts';
import { error, ok, type ChannelDefinition } from '../server/channel.ts';

/** What `tether serve` keeps of each room's broadcasts for recovery (docs/recovery.md): 1000 messages, 5 minutes. */
export const ROOM_HISTORY: HistoryPolicy = { maxMessages: 1000, ttlMs: 5 * 60_000 };

/** The room contract, optionally with a history so opted-in Tether clients recover shouts they missed. */
export function createRoomChannel(options: { history?: HistoryPolicy } = {}): ChannelDefinition {
  const { history } = options;
  return {
    history,

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
          // A history entry's offset rides in V2 JSON only, so a room with history cannot broadcast bytes.
          if (history !== undefined && payload instanceof Uint8Array) return error({ reason: 'shout takes a JSON payload in a room with history' });
          // No reply, as in the channel `mix phx.gen.channel` generates: the sender sees its own shout arrive,
          // and a load generator's publisher is not sent one reply per broadcast.
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
}

/** Without history: byte-for-byte what a minimal Phoenix app sends, also to opted-in clients (tests use it). */
export const roomChannel: ChannelDefinition = createRoomChannel();

/** What `tether serve` runs: the same room, recoverable (stock Phoenix clients still get plain frames). */
export const recoverableRoomChannel: ChannelDefinition = createRoomChannel({ history: ROOM_HISTORY });
