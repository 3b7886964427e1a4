/** The client's outgoing frames, written from bodies encoded once at push time. */
import { encodeV1JsonRaw, encodeV2JsonRaw, Events, HEARTBEAT_TOPIC, type ProtocolVersion, type Serializer } from '../protocol/index.ts';
import type { Push } from './push.ts';
import { pushMeta } from '../protocol/extension.ts';

export function heartbeatFrame(version: ProtocolVersion, ref: string): string {
  return version === 2
    ? encodeV2JsonRaw(null, ref, HEARTBEAT_TOPIC, Events.heartbeat, '{}')
    : encodeV1JsonRaw({ joinRef: null, ref, topic: HEARTBEAT_TOPIC, event: Events.heartbeat }, '{}', 'client->server');
}

/**
 * A push as a wire frame. V2 JSON frames carry Tether meta as a sixth element: the push's own meta (a rejoin
 * position), else its outbox id when `messageIds` is on. Binary and V1 frames cannot carry meta.
 */
export function pushFrame(serializer: Serializer, joinRef: string | null, ref: string, push: Push<unknown>, messageIds: boolean): string | Uint8Array {
  const body = push.body;
  if (typeof body !== 'string') return serializer.encode({ joinRef, ref, topic: push.topic, event: push.event, payload: body });
  if (serializer.version === 1) return encodeV1JsonRaw({ joinRef, ref, topic: push.topic, event: push.event }, body, 'client->server');
  const meta = push.meta ?? (push.inOutbox && messageIds ? pushMeta(push.id) : undefined);
  return encodeV2JsonRaw(joinRef, ref, push.topic, push.event, body, meta === undefined ? undefined : JSON.stringify(meta));
}
