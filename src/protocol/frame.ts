/** The Phoenix Channels message model shared by every codec, the client and the server. */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A payload is a JSON object (text frames) or raw bytes (V2 binary frames). */
export type Payload = JsonObject | Uint8Array;

/** The payload of a `phx_reply`: a status (by convention `ok` or `error`) and a response. */
export interface ReplyPayload {
  status: string;
  response: Payload;
}

/**
 * Optional Tether extension data. In V2 JSON it travels as a sixth array element, which Phoenix servers and
 * phoenix.js both ignore, so a stock peer never sees it. Binary and V1 frames never carry it.
 */
export type FrameMeta = JsonObject;

export interface Frame {
  /** The `ref` of the `phx_join` that created the channel instance; null on heartbeats and broadcasts. */
  joinRef: string | null;
  /** Unique per client message and echoed in its reply; null in server pushes and broadcasts. */
  ref: string | null;
  topic: string;
  event: string;
  payload: Payload | ReplyPayload;
  meta?: FrameMeta;
}

/** Which peer produced a frame. Binary pushes differ by direction (server pushes carry no ref). */
export type Direction = 'client->server' | 'server->client';

export function isBinary(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

export function isReplyPayload(value: unknown): value is ReplyPayload {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    typeof (value as { status?: unknown }).status === 'string' &&
    'response' in value
  );
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** True when the frame must go out as a V2 binary frame: its payload (or reply response) is bytes. */
export function carriesBinary(frame: Frame): boolean {
  const p = frame.payload;
  if (p instanceof Uint8Array) return true;
  return frame.event === 'phx_reply' && isReplyPayload(p) && p.response instanceof Uint8Array;
}
