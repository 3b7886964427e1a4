/**
 * Property-based fuzzing of the protocol decoders: whatever the bytes, a decoder returns a well-typed frame or
 * throws a ProtocolError, nothing else; and what it returns survives encoding with its keys as data
 * (`__proto__` included). Bounded for `npm test`: FUZZ_RUNS (default 3000) cases per property.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeBinary, encodeBinary } from '../../src/protocol/codec-binary.ts';
import { decodeV1Json, decodeV2Json, encodeV2Json } from '../../src/protocol/codec-json.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';
import type { Frame } from '../../src/protocol/frame.ts';
import { createSerializer } from '../../src/protocol/serializer.ts';
import { binaryBytes, fuzzFrame, objectText, protoName, v1Text, v2Text } from './fuzz-arbitraries.ts';

const numRuns = Number(process.env.FUZZ_RUNS ?? 3000);

function wellTyped(frame: Frame): void {
  for (const f of ['joinRef', 'ref'] as const) assert.ok(frame[f] === null || typeof frame[f] === 'string', f);
  assert.equal(typeof frame.topic, 'string');
  assert.equal(typeof frame.event, 'string');
  const p = frame.payload;
  assert.ok(p instanceof Uint8Array || (typeof p === 'object' && p !== null && !Array.isArray(p)), 'payload is an object or bytes');
}

/** Runs a decoder: a frame or a ProtocolError; anything else fails the property. */
function decodesOrRefuses(decode: () => Frame): void {
  let frame: Frame;
  try {
    frame = decode();
  } catch (err) {
    if (err instanceof ProtocolError) return;
    throw new Error(`decoder threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
  }
  wellTyped(frame);
}

const anyText = fc.oneof(v2Text, v1Text, fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.jsonValue().map((v) => JSON.stringify(v)));

test('decodeV2Json and decodeV1Json: a frame or a ProtocolError, for any text', () => {
  fc.assert(fc.property(anyText, (text) => {
    decodesOrRefuses(() => decodeV2Json(text));
    decodesOrRefuses(() => decodeV1Json(text));
  }), { numRuns });
});

test('decodeBinary, both directions: a frame or a ProtocolError, for any bytes', () => {
  fc.assert(fc.property(fc.oneof(binaryBytes, fc.uint8Array({ maxLength: 300 })), (bytes) => {
    decodesOrRefuses(() => decodeBinary(bytes, 'client->server'));
    decodesOrRefuses(() => decodeBinary(bytes, 'server->client'));
  }), { numRuns });
});

test('both server serializers: a frame or a ProtocolError for every fuzz frame', () => {
  const serializers = [createSerializer(1, 'server'), createSerializer(2, 'server'), createSerializer(2, 'client'), createSerializer(1, 'client')];
  fc.assert(fc.property(fuzzFrame, ({ data, binary }) => {
    // A text frame's bytes reach the decoder as a string (the WebSocket layer refused any that are not UTF-8).
    const input = binary ? data : typeof data === 'string' ? data : Buffer.from(data).toString();
    for (const s of serializers) decodesOrRefuses(() => s.decode(input));
  }), { numRuns: Math.ceil(numRuns / 3) });
});

test('keys survive decode -> encode as data: `__proto__`, `constructor` and friends in payloads and meta', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.tuple(fc.oneof(protoName, fc.string({ maxLength: 6 })), fc.jsonValue({ maxDepth: 2 })), { selector: ([k]) => k, maxLength: 6 }), objectText, (pairs, meta) => {
    const payload = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
    const text = `["1","2","room:x","echo",${payload},${meta}]`;
    const frame = decodeV2Json(text);
    assert.equal(Object.getPrototypeOf(frame.payload), Object.prototype, 'no prototype was swapped in');
    const out = encodeV2Json(frame);
    // Values go through JSON once more (numbers such as -0 normalise), keys stay exactly as sent, in order.
    const expected = `["1","2","room:x","echo",${JSON.stringify(JSON.parse(payload))},${JSON.stringify(JSON.parse(meta))}]`;
    assert.equal(out, expected);
    // (Integer-like keys come first, as in every JS object; the set of keys is what must survive.)
    assert.deepEqual(Object.keys(frame.payload).sort(), pairs.map(([k]) => k).sort());
  }), { numRuns });
});

test('binary push round trip: encode(decode(bytes)) gives the same bytes for every well-formed push', () => {
  fc.assert(fc.property(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 64 })), ([jr, r, t, e, body]) => {
    const frame: Frame = { joinRef: jr || null, ref: r || null, topic: t, event: e, payload: body };
    const bytes = encodeBinary(frame, 'client->server');
    assert.deepEqual(Buffer.from(encodeBinary(decodeBinary(bytes, 'client->server'), 'client->server')), Buffer.from(bytes));
  }), { numRuns });
});
