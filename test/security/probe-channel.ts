/** The probe channel of the security suite and the fuzz: client strings reach presence, assigns, params and broadcasts. */
import { createRoomChannel, roomChannel } from '../../src/demo/room-channel.ts';
import { error, ok, type ChannelDefinition } from '../../src/server/channel.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';

/** Hands client-chosen strings to presence, assigns and replies, so a probe reaches every keyed structure. */
export const probeChannel: ChannelDefinition = {
  join: (_topic, params) => ok({ params }),
  handleIn(event, payload, socket) {
    if (payload instanceof Uint8Array) return ok(payload);
    switch (event) {
      case 'track': {
        socket.presence.track(socket, String(payload.key), (payload.meta ?? {}) as JsonObject);
        return ok({ list: socket.presence.list(socket.topic) });
      }
      case 'assign': {
        const key = String(payload.key);
        socket.assigns[key] = payload.value;
        return ok({ own: Object.hasOwn(socket.assigns, key), value: socket.assigns[key] as JsonObject });
      }
      case 'param':
        return ok({ value: socket.connectParams[String(payload.key)] ?? null });
      case 'broadcast':
        void socket.broadcast(String(payload.event), (payload.payload ?? {}) as JsonObject);
        return ok();
      default:
        return error({ reason: `unknown event ${event}` });
    }
  },
};


/** The demo room, a recoverable feed with the same contract, and the probe channel. */
export function probeChannels(): Record<string, ChannelDefinition> {
  return { 'room:*': roomChannel, 'feed:*': createRoomChannel({ history: { maxMessages: 100 } }), 'probe:*': probeChannel };
}
