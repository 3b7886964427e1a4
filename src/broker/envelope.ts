/**
 * The bytes a Redis broker puts on a pub/sub channel. Fields are netstrings (`<byte length>:<bytes>`) so any
 * topic, event or key survives, and the payload goes last as raw bytes after a one-byte kind: `j` for a JSON
 * object (UTF-8 text), `b` for a binary payload (the bytes themselves, never base64 or a JSON array).
 *
 *   message:  M topic origin exclude event epoch offset  <j|b><payload>
 *   presence: P topic node key  <j|l><meta JSON>          (j = join, l = leave)
 *   inbox:    I to from type kind id timeoutMs  <data>   (type s|q|a|x, see `InboxEnvelope`)
 *
 * A message's epoch and offset are empty when the topic keeps no history; with history the Lua publish
 * script writes them between `messageHead` and `payloadBytes`, because only Redis knows the offset.
 */
import type { Payload } from '../protocol/frame.ts';
import type { InboxEnvelope } from './inbox.ts';
import type { BrokerMessage, PresenceChange } from './types.ts';

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

const COLON = 0x3a;
const KIND_MESSAGE = 0x4d; // M
const KIND_PRESENCE = 0x50; // P
const KIND_INBOX = 0x49; // I
const INBOX_TYPES = new Set(['s', 'q', 'a', 'x']);
const PAYLOAD_JSON = 0x6a; // j
const PAYLOAD_BINARY = 0x62; // b
const PRESENCE_JOIN = 0x6a; // j
const PRESENCE_LEAVE = 0x6c; // l

/** A netstring field, as the Lua scripts build it too: `#s .. ':' .. s`. */
export function netstring(value: string): string {
  return `${Buffer.byteLength(value)}:${value}`;
}

export function messageHead(topic: string, origin: string, exclude: string | undefined, event: string): string {
  return `M${netstring(topic)}${netstring(origin)}${netstring(exclude ?? '')}${netstring(event)}`;
}

export function payloadBytes(payload: Payload): Buffer {
  if (payload instanceof Uint8Array) {
    const out = Buffer.allocUnsafe(payload.byteLength + 1);
    out[0] = PAYLOAD_BINARY;
    out.set(payload, 1);
    return out;
  }
  return Buffer.from(`j${JSON.stringify(payload)}`);
}

/**
 * A whole message envelope for a topic without history (empty epoch and offset): one string for a JSON
 * payload (node-redis writes it straight to the socket), bytes for a binary one.
 */
export function encodeMessage(topic: string, origin: string, exclude: string | undefined, event: string, payload: Payload): string | Buffer {
  const head = `${messageHead(topic, origin, exclude, event)}0:0:`;
  if (!(payload instanceof Uint8Array)) return `${head}j${JSON.stringify(payload)}`;
  const headBytes = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headBytes + 1 + payload.byteLength);
  out.write(head, 0);
  out[headBytes] = PAYLOAD_BINARY;
  out.set(payload, headBytes + 1);
  return out;
}

export function encodePresence(change: PresenceChange): Buffer {
  const kind = change.kind === 'join' ? 'j' : 'l';
  return Buffer.from(`P${netstring(change.topic)}${netstring(change.node)}${netstring(change.key)}${kind}${JSON.stringify(change.meta)}`);
}

export function encodeInbox(e: InboxEnvelope): string {
  return `I${netstring(e.to)}${netstring(e.from)}${netstring(e.type)}${netstring(e.kind)}${netstring(e.id)}${netstring(String(e.timeoutMs))}${e.data}`;
}

export type Envelope =
  | { kind: 'message'; message: BrokerMessage }
  | { kind: 'presence'; change: PresenceChange }
  | { kind: 'inbox'; envelope: InboxEnvelope };

/** Reads netstrings from one buffer without copying it more than each field needs. */
class Reader {
  pos = 1;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }

  field(): string {
    const buf = this.buf;
    let len = 0;
    let i = this.pos;
    for (; i < buf.length && buf[i] !== COLON; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) throw new EnvelopeError(`bad netstring length at byte ${i}`);
      len = len * 10 + d;
    }
    const start = i + 1;
    if (i >= buf.length || start + len > buf.length) throw new EnvelopeError('truncated envelope');
    this.pos = start + len;
    return buf.toString('utf8', start, start + len);
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new EnvelopeError('truncated envelope');
    return this.buf[this.pos++];
  }
}

export function decodePayload(buf: Buffer, from: number): Payload {
  const kind = buf[from];
  // A copy, so the payload does not pin the socket chunk it arrived in.
  if (kind === PAYLOAD_BINARY) return new Uint8Array(buf.subarray(from + 1));
  if (kind === PAYLOAD_JSON) return JSON.parse(buf.toString('utf8', from + 1));
  throw new EnvelopeError(`unknown payload kind ${kind}`);
}

export function decodeEnvelope(buf: Buffer): Envelope {
  const r = new Reader(buf);
  if (buf[0] === KIND_MESSAGE) {
    const topic = r.field();
    const origin = r.field();
    const exclude = r.field();
    const event = r.field();
    const epoch = r.field();
    const offset = r.field();
    const message: BrokerMessage = { topic, event, payload: decodePayload(buf, r.pos), origin };
    if (exclude !== '') message.exclude = exclude;
    if (epoch !== '') message.position = { epoch, offset: Number(offset) };
    return { kind: 'message', message };
  }
  if (buf[0] === KIND_PRESENCE) {
    const topic = r.field();
    const node = r.field();
    const key = r.field();
    const kind = r.byte();
    if (kind !== PRESENCE_JOIN && kind !== PRESENCE_LEAVE) throw new EnvelopeError(`unknown presence kind ${kind}`);
    const meta = JSON.parse(buf.toString('utf8', r.pos)) as PresenceChange['meta'];
    return { kind: 'presence', change: { topic, node, key, kind: kind === PRESENCE_JOIN ? 'join' : 'leave', meta } };
  }
  if (buf[0] === KIND_INBOX) {
    const to = r.field();
    const from = r.field();
    const type = r.field();
    const kind = r.field();
    const id = r.field();
    const timeoutMs = Number(r.field());
    if (!INBOX_TYPES.has(type)) throw new EnvelopeError(`unknown inbox message type ${JSON.stringify(type)}`);
    const data = buf.toString('utf8', r.pos);
    return { kind: 'inbox', envelope: { to, from, type: type as InboxEnvelope['type'], kind, id, timeoutMs, data } };
  }
  throw new EnvelopeError(`unknown envelope kind ${buf[0]}`);
}
