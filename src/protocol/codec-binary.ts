/**
 * Phoenix V2 binary frames. Header sizes are single bytes, so every string field is at most 255 UTF-8 bytes;
 * the payload runs to the end of the frame. A null join_ref or ref is written with length 0 and an empty
 * field is read back as null.
 */
import { ProtocolError } from './errors.ts';
import { isReplyPayload, type Direction, type Frame } from './frame.ts';

export const BinaryKind = { push: 0, reply: 1, broadcast: 2 } as const;
export type BinaryKind = (typeof BinaryKind)[keyof typeof BinaryKind];

export const MAX_BINARY_FIELD_BYTES = 255;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function fieldBytes(value: string | null, field: string): Uint8Array {
  const bytes = encoder.encode(value ?? '');
  if (bytes.length > MAX_BINARY_FIELD_BYTES) {
    throw new ProtocolError(
      'field_too_long',
      `${field} is ${bytes.length} bytes; a binary frame field holds at most ${MAX_BINARY_FIELD_BYTES}`,
      field,
    );
  }
  return bytes;
}

/** `kind`, one length byte per field, the fields, then the body. */
function assemble(kind: BinaryKind, fields: Uint8Array[], body: Uint8Array): Uint8Array {
  let size = 1 + fields.length + body.length;
  for (const f of fields) size += f.length;
  const out = new Uint8Array(size);
  out[0] = kind;
  let at = 1;
  for (const f of fields) out[at++] = f.length;
  for (const f of fields) {
    out.set(f, at);
    at += f.length;
  }
  out.set(body, at);
  return out;
}

/** Encodes a frame whose payload (or reply response) is bytes. */
export function encodeBinary(frame: Frame, direction: Direction): Uint8Array {
  const topic = fieldBytes(frame.topic, 'topic');
  if (direction === 'client->server') {
    if (!(frame.payload instanceof Uint8Array)) {
      throw new ProtocolError('wrong_field_type', 'a binary push needs a Uint8Array payload', 'payload');
    }
    const jr = fieldBytes(frame.joinRef, 'join_ref');
    const ref = fieldBytes(frame.ref, 'ref');
    const event = fieldBytes(frame.event, 'event');
    return assemble(BinaryKind.push, [jr, ref, topic, event], frame.payload);
  }
  if (frame.event === 'phx_reply') {
    const reply = frame.payload;
    if (!isReplyPayload(reply) || !(reply.response instanceof Uint8Array)) {
      throw new ProtocolError('wrong_field_type', 'a binary reply needs {status, response: Uint8Array}', 'payload');
    }
    const fields = [
      fieldBytes(frame.joinRef, 'join_ref'),
      fieldBytes(frame.ref, 'ref'),
      topic,
      fieldBytes(reply.status, 'status'),
    ];
    return assemble(BinaryKind.reply, fields, reply.response);
  }
  if (!(frame.payload instanceof Uint8Array)) {
    throw new ProtocolError('wrong_field_type', 'a binary push or broadcast needs a Uint8Array payload', 'payload');
  }
  const event = fieldBytes(frame.event, 'event');
  if (frame.joinRef === null && frame.ref === null) {
    return assemble(BinaryKind.broadcast, [topic, event], frame.payload);
  }
  const jr = fieldBytes(frame.joinRef, 'join_ref');
  return assemble(BinaryKind.push, [jr, topic, event], frame.payload);
}

class Reader {
  #at = 0;
  readonly #bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  sizes(count: number): number[] {
    if (this.#bytes.length < this.#at + count) {
      throw new ProtocolError(
        'truncated_frame',
        `binary frame ends inside its header (${this.#bytes.length} bytes, header needs ${this.#at + count})`,
      );
    }
    const out = Array.from(this.#bytes.subarray(this.#at, this.#at + count));
    this.#at += count;
    return out;
  }
  text(length: number, field: string): string {
    if (this.#bytes.length < this.#at + length) {
      throw new ProtocolError('truncated_frame', `binary frame ends inside its ${field} field`, field);
    }
    const slice = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    try {
      return decoder.decode(slice);
    } catch {
      throw new ProtocolError('invalid_utf8', `${field} is not valid UTF-8`, field);
    }
  }
  ref(length: number, field: string): string | null {
    return length === 0 ? null : this.text(length, field);
  }
  rest(): Uint8Array {
    return this.#bytes.subarray(this.#at);
  }
}

/** Decodes a binary frame as written by the peer at the other end of `direction`. */
export function decodeBinary(bytes: Uint8Array, direction: Direction): Frame {
  if (bytes.length === 0) throw new ProtocolError('truncated_frame', 'binary frame is empty');
  const kind = bytes[0];
  const r = new Reader(bytes.subarray(1));
  if (direction === 'client->server') {
    if (kind !== BinaryKind.push) {
      throw new ProtocolError('unknown_binary_kind', `a client may only send binary kind 0 (push), got ${kind}`);
    }
    const [jr, ref, topic, event] = r.sizes(4);
    return {
      joinRef: r.ref(jr, 'join_ref'),
      ref: r.ref(ref, 'ref'),
      topic: r.text(topic, 'topic'),
      event: r.text(event, 'event'),
      payload: r.rest(),
    };
  }
  switch (kind) {
    case BinaryKind.push: {
      const [jr, topic, event] = r.sizes(3);
      return {
        joinRef: r.ref(jr, 'join_ref'),
        ref: null,
        topic: r.text(topic, 'topic'),
        event: r.text(event, 'event'),
        payload: r.rest(),
      };
    }
    case BinaryKind.reply: {
      const [jr, ref, topic, status] = r.sizes(4);
      const joinRef = r.ref(jr, 'join_ref');
      const replyRef = r.ref(ref, 'ref');
      const topicName = r.text(topic, 'topic');
      const statusName = r.text(status, 'status');
      return {
        joinRef,
        ref: replyRef,
        topic: topicName,
        event: 'phx_reply',
        payload: { status: statusName, response: r.rest() },
      };
    }
    case BinaryKind.broadcast: {
      const [topic, event] = r.sizes(2);
      return { joinRef: null, ref: null, topic: r.text(topic, 'topic'), event: r.text(event, 'event'), payload: r.rest() };
    }
    default:
      throw new ProtocolError('unknown_binary_kind', `unknown binary frame kind ${kind} (known: 0 push, 1 reply, 2 broadcast)`);
  }
}
