/**
 * fast-check arbitraries for hostile frames: valid-ish V2 and V1 frames whose topics, events, keys and meta are
 * drawn from the names that break plain objects, mutations of them (truncated, spliced, wrong arity and types),
 * invalid UTF-8, and V2 binary frames with lying kinds and lengths. Shared by the decoder properties and the
 * live fuzz.
 */
import fc from 'fast-check';

/** What one fuzz step sends: text (possibly not UTF-8, as raw bytes) or a binary frame. */
export interface FuzzFrame {
  data: string | Uint8Array;
  binary: boolean;
}

export const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'isPrototypeOf', '__defineGetter__'] as const;

export const protoName = fc.constantFrom(...PROTO_NAMES);
export const key = fc.oneof({ weight: 3, arbitrary: protoName }, { weight: 2, arbitrary: fc.string({ maxLength: 8 }) }, fc.string({ unit: 'grapheme', maxLength: 4 }));

export const topic = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('room:lobby', 'room:fuzz', 'feed:fuzz', 'probe:fuzz', 'phoenix', 'tether:admin', 'room:private') },
  { weight: 2, arbitrary: protoName.map((n) => `room:${n}`) },
  protoName,
  fc.string({ maxLength: 24 }),
  fc.string({ minLength: 256, maxLength: 300 }).map((s) => `room:${s}`),
);

export const event = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('phx_join', 'phx_leave', 'heartbeat', 'echo', 'shout', 'fail', 'noreply', 'crash', 'binary', 'track', 'assign', 'param', 'broadcast') },
  { weight: 2, arbitrary: protoName },
  fc.string({ maxLength: 12 }),
);

export const ref = fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 9999 }).map(String), fc.string({ maxLength: 6 }), protoName);

/** A JSON object's text with keys that may repeat or be `__proto__` (a JS literal cannot make an own `__proto__`). */
export const objectText: fc.Arbitrary<string> = fc
  .array(fc.tuple(key, fc.jsonValue({ maxDepth: 3 })), { maxLength: 6 })
  .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);

/** Occasionally a deep nest (too deep for JSON.stringify on the way back) or a big string. */
const payloadText = fc.oneof(
  { weight: 60, arbitrary: objectText },
  fc.integer({ min: 1, max: 20 }).map((n) => `{"a":${'['.repeat(n * 5000)}${']'.repeat(n * 5000)}}`),
  fc.integer({ min: 1, max: 80 }).map((k) => `{"big":"${'x'.repeat(k * 1024)}"}`),
);

const metaText = fc.oneof(
  fc.tuple(fc.integer({ min: -2, max: 2 ** 53 + 2 }), fc.oneof(fc.string({ maxLength: 10 }), protoName)).map(([o, e]) => `{"since":{"o":${o},"e":${JSON.stringify(e)}}}`),
  key.map((id) => `{"id":${JSON.stringify(id)}}`),
  objectText,
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
);

/** `[join_ref, ref, topic, event, payload]` text, sometimes with a sixth (meta) element. */
export const v2Text: fc.Arbitrary<string> = fc
  .tuple(ref, ref, topic, event, payloadText, fc.option(metaText, { nil: undefined }))
  .map(([jr, r, t, e, p, m]) => `[${JSON.stringify(jr)},${JSON.stringify(r)},${JSON.stringify(t)},${JSON.stringify(e)},${p}${m === undefined ? '' : `,${m}`}]`);

export const v1Text: fc.Arbitrary<string> = fc
  .tuple(ref, ref, topic, event, payloadText, fc.oneof({ weight: 9, arbitrary: fc.constant([] as string[]) }, fc.subarray(['topic', 'event', 'payload', 'ref', 'join_ref'])))
  .map(([jr, r, t, e, p, drop]) => {
    const fields: [string, string][] = [['topic', JSON.stringify(t)], ['event', JSON.stringify(e)], ['payload', p], ['ref', JSON.stringify(r)], ['join_ref', JSON.stringify(jr)]];
    // Usually complete; one in ten with fields missing.
    const kept = fields.filter(([name]) => !drop.includes(name));
    return `{${kept.map(([k, v]) => `"${k}":${v}`).join(',')}}`;
  });

/** Mutations of a valid-ish text: cut short, a byte spliced in, elements of the wrong type or count. */
const mutated = fc.oneof(
  fc.tuple(v2Text, fc.nat()).map(([t, n]) => t.slice(0, n % Math.max(1, t.length))),
  fc.tuple(v2Text, fc.nat(), fc.constantFrom('"', ',', ']', '}', '\\', '\u0000', '{', 'x')).map(([t, n, c]) => {
    const at = n % (t.length + 1);
    return t.slice(0, at) + c + t.slice(at);
  }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 7 }).map((a) => JSON.stringify(a)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

/** Bytes that are not UTF-8 (sent as a text frame: the WebSocket layer must refuse them). */
const invalidUtf8 = fc
  .tuple(fc.uint8Array({ maxLength: 16 }), fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]))
  .map(([head, bad]) => new Uint8Array([...head, ...bad]));

/** A well-formed client binary push (fields cut to 255 bytes, possibly mid-character). */
function binaryPushBytes(): fc.Arbitrary<Uint8Array> {
  return fc.tuple(ref, ref, topic, event, fc.uint8Array({ maxLength: 64 })).map(([jr, r, t, e, body]) => {
    const enc = (s: string | null) => Buffer.from(s ?? '').subarray(0, 255);
    const f = [enc(jr), enc(r), enc(t), enc(e)];
    return new Uint8Array([0, ...f.map((b) => b.length), ...Buffer.concat(f), ...body]);
  });
}

/** V2 binary: mostly kind 0 with header sizes that may lie about what follows. */
export const binaryBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .tuple(fc.constantFrom(0, 0, 0, 1, 2, 3, 255), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 0, maxLength: 5 }), fc.uint8Array({ maxLength: 96 }))
    .map(([kind, sizes, rest]) => new Uint8Array([kind, ...sizes, ...rest])),
  binaryPushBytes(),
  fc.uint8Array({ maxLength: 32 }),
);

/** Frames a V2 connection can decode (their content may still be refused): these reach joins, presence, handlers. */
export const validishV2Frame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  { weight: 8, arbitrary: v2Text.map((data) => ({ data, binary: false })) },
  { weight: 1, arbitrary: binaryPushBytes().map((data) => ({ data, binary: true })) },
);

/** The topics a session connection joins first (`join_ref` `j:<topic>`), then talks to. */
export const SESSION_TOPICS = ['room:fuzz', 'feed:fuzz', 'probe:fuzz', 'room:__proto__'] as const;

/** Events with random payloads and meta on a joined topic, with its join_ref: these reach the handlers. */
export const sessionFrame: fc.Arbitrary<FuzzFrame> = fc
  .tuple(fc.constantFrom(...SESSION_TOPICS), event, ref, payloadText, fc.option(metaText, { freq: 4, nil: undefined }))
  .map(([t, e, r, p, m]) => ({
    data: `[${JSON.stringify(`j:${t}`)},${JSON.stringify(r)},${JSON.stringify(t)},${JSON.stringify(e)},${p}${m === undefined ? '' : `,${m}`}]`,
    binary: false,
  }));

/** Frames a V1 connection can decode (most of them). */
export const validishV1Frame: fc.Arbitrary<FuzzFrame> = v1Text.map((data) => ({ data, binary: false }));

/** Anything: valid-ish frames of either version, mutations, invalid UTF-8, binary lies. */
export const fuzzFrame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  { weight: 6, arbitrary: v2Text.map((data) => ({ data, binary: false })) },
  { weight: 2, arbitrary: v1Text.map((data) => ({ data, binary: false })) },
  { weight: 3, arbitrary: mutated.map((data) => ({ data, binary: false })) },
  { weight: 1, arbitrary: invalidUtf8.map((data) => ({ data, binary: false })) },
  { weight: 2, arbitrary: binaryBytes.map((data) => ({ data, binary: true })) },
);

/** A connect query: vsn (sometimes unsupported), a presence `user`, the extension, and prototype-named extras. */
export const connectQuery: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('2.0.0', '2.0.0', '1.0.0', '2.0.7', '3.0.0'), fc.option(key, { nil: undefined }), fc.boolean(), fc.option(key, { nil: undefined }), fc.array(fc.tuple(protoName, fc.string({ maxLength: 6 })), { maxLength: 3 }))
  .map(([vsn, user, tether, cid, extra]) => {
    const p = new URLSearchParams({ vsn });
    if (user !== undefined) p.append('user', user);
    if (tether) p.append('tether', '1');
    if (cid !== undefined) p.append('tether_cid', cid);
    for (const [k, v] of extra) p.append(k, v);
    return p.toString();
  });
