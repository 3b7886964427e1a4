/** Phoenix's JSON serializers: V2 (array `[join_ref, ref, topic, event, payload]`) and V1 (object). */
import { ProtocolError } from './errors.ts';
import { isJsonObject, type Direction, type Frame, type FrameMeta, type JsonObject } from './frame.ts';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError('not_json', `frame is not valid JSON: ${(err as Error).message}`);
  }
}

function refField(value: unknown, field: string): string | null {
  if (value === null || typeof value === 'string') return value;
  throw new ProtocolError('wrong_field_type', `${field} must be a string or null, got ${describe(value)}`, field);
}

function stringField(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  throw new ProtocolError('wrong_field_type', `${field} must be a string, got ${describe(value)}`, field);
}

function payloadField(value: unknown): JsonObject {
  if (isJsonObject(value)) return value;
  throw new ProtocolError('wrong_field_type', `payload must be a JSON object, got ${describe(value)}`, 'payload');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Decodes a V2 text frame. Elements past the fifth are ignored except a sixth object, read as Tether meta. */
export function decodeV2Json(text: string): Frame {
  const parsed = parseJson(text);
  if (!Array.isArray(parsed)) {
    throw new ProtocolError('wrong_shape', `a V2 frame must be a JSON array, got ${describe(parsed)}`);
  }
  if (parsed.length < 5) {
    throw new ProtocolError(
      'wrong_arity',
      `a V2 frame has 5 elements [join_ref, ref, topic, event, payload], got ${parsed.length}`,
    );
  }
  const frame: Frame = {
    joinRef: refField(parsed[0], 'join_ref'),
    ref: refField(parsed[1], 'ref'),
    topic: stringField(parsed[2], 'topic'),
    event: stringField(parsed[3], 'event'),
    payload: payloadField(parsed[4]),
  };
  if (isJsonObject(parsed[5])) frame.meta = parsed[5] as FrameMeta;
  return frame;
}

/**
 * Builds a V2 text frame around an already-serialised payload, so a broadcast's payload is stringified once
 * however many frames carry it.
 */
export function encodeV2JsonRaw(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payloadJson: string,
  metaJson?: string,
): string {
  const jr = joinRef === null ? 'null' : JSON.stringify(joinRef);
  const r = ref === null ? 'null' : JSON.stringify(ref);
  const tail = metaJson === undefined ? ']' : `,${metaJson}]`;
  return `[${jr},${r},${JSON.stringify(topic)},${JSON.stringify(event)},${payloadJson}${tail}`;
}

export function encodeV2Json(frame: Frame): string {
  const meta = frame.meta === undefined ? undefined : JSON.stringify(frame.meta);
  return encodeV2JsonRaw(frame.joinRef, frame.ref, frame.topic, frame.event, JSON.stringify(frame.payload), meta);
}

/** Decodes a V1 object frame: topic, event, payload and ref are required (ref may be null); join_ref optional. */
export function decodeV1Json(text: string): Frame {
  const parsed = parseJson(text);
  if (!isJsonObject(parsed)) {
    throw new ProtocolError('wrong_shape', `a V1 frame must be a JSON object, got ${describe(parsed)}`);
  }
  for (const key of ['topic', 'event', 'payload', 'ref'] as const) {
    if (!(key in parsed)) throw new ProtocolError('wrong_arity', `a V1 frame needs the key "${key}"`, key);
  }
  return {
    joinRef: 'join_ref' in parsed ? refField(parsed.join_ref, 'join_ref') : null,
    ref: refField(parsed.ref, 'ref'),
    topic: stringField(parsed.topic, 'topic'),
    event: stringField(parsed.event, 'event'),
    payload: payloadField(parsed.payload),
  };
}

/**
 * Encodes a V1 object frame. A server writes only event, payload, ref and topic (Phoenix never sends join_ref
 * in V1); a client writes join_ref too.
 */
export function encodeV1JsonRaw(
  frame: Pick<Frame, 'joinRef' | 'ref' | 'topic' | 'event'>,
  payloadJson: string,
  direction: Direction,
): string {
  const ref = frame.ref === null ? 'null' : JSON.stringify(frame.ref);
  if (direction === 'server->client') {
    return `{"event":${JSON.stringify(frame.event)},"payload":${payloadJson},"ref":${ref},"topic":${JSON.stringify(frame.topic)}}`;
  }
  const jr = frame.joinRef === null ? 'null' : JSON.stringify(frame.joinRef);
  return `{"topic":${JSON.stringify(frame.topic)},"event":${JSON.stringify(frame.event)},"payload":${payloadJson},"ref":${ref},"join_ref":${jr}}`;
}

export function encodeV1Json(frame: Frame, direction: Direction): string {
  return encodeV1JsonRaw(frame, JSON.stringify(frame.payload), direction);
}
