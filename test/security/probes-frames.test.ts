/**
 * Malformed input at every layer, from raw TCP up: each probe asserts the documented close code or error reply,
 * and that the server then still serves a well-behaved client (docs/security.md lists the outcomes).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloseCodes } from '../../src/protocol/close-codes.ts';
import { assertServes, PROBE_MAX_FRAME_BYTES, rawProbe, startProbeServer, textFrames, wsFrame, type RawOutcome } from './probe-kit.ts';

const TEXT = 0x1;
const BINARY = 0x2;
const CONT = 0x0;
const PING = 0x9;

let s: Awaited<ReturnType<typeof startProbeServer>>;
const table: string[] = [];
before(async () => {
  s = await startProbeServer();
});
after(() => {
  // The probe table of docs/security.md, printed with the run.
  console.log(`\nprobe -> outcome\n${table.join('\n')}`);
});

const join = (topic = 'room:p', ref = '1') => wsFrame(TEXT, JSON.stringify([ref, ref, topic, 'phx_join', {}]));

/** Sends the frames, checks the outcome, then checks a well-behaved client is still served. */
async function probe(name: string, frames: Buffer[], check: (o: RawOutcome) => void, query?: string, until?: (o: RawOutcome) => boolean): Promise<void> {
  const outcome = await rawProbe(s, frames, { query, until });
  const shown = outcome.closeCode === null ? `no close, ${outcome.frames.length} frame(s)` : `close ${outcome.closeCode} ${outcome.closeReason.slice(0, 60)}`;
  table.push(`${name} -> ${shown}`);
  check(outcome);
  await assertServes(s);
}

const closedWith = (code: number, reason?: RegExp) => (o: RawOutcome) => {
  assert.equal(o.closeCode, code, `close code (reason: ${o.closeReason})`);
  if (reason) assert.match(o.closeReason, reason);
};

test('text frames that are not valid UTF-8 are closed with 1007 by the WebSocket layer', async () => {
  await probe('invalid UTF-8 in a text frame', [wsFrame(TEXT, Buffer.from([0x5b, 0xff, 0xfe, 0x5d]))], closedWith(1007));
  await probe('overlong UTF-8 encoding (C0 AF)', [wsFrame(TEXT, Buffer.from([0x22, 0xc0, 0xaf, 0x22]))], closedWith(1007));
  await probe('lone surrogate as UTF-8 (ED A0 80)', [wsFrame(TEXT, Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))], closedWith(1007));
});

test('JSON that does not decode to a frame: 1007 naming the ProtocolError', async () => {
  await probe('bad JSON', [wsFrame(TEXT, '["1","1","room:p","phx_join",{')], closedWith(CloseCodes.invalidFrame, /not_json/));
  await probe('empty text frame', [wsFrame(TEXT, '')], closedWith(CloseCodes.invalidFrame, /not_json/));
  await probe('JSON scalar', [wsFrame(TEXT, '42')], closedWith(CloseCodes.invalidFrame, /wrong_shape/));
  await probe('V2 array of 4', [wsFrame(TEXT, '["1","1","room:p","phx_join"]')], closedWith(CloseCodes.invalidFrame, /wrong_arity/));
  await probe('V2 empty array', [wsFrame(TEXT, '[]')], closedWith(CloseCodes.invalidFrame, /wrong_arity/));
  await probe('V2 topic a number', [wsFrame(TEXT, '["1","1",7,"phx_join",{}]')], closedWith(CloseCodes.invalidFrame, /wrong_field_type/));
  await probe('V2 event null', [wsFrame(TEXT, '["1","1","room:p",null,{}]')], closedWith(CloseCodes.invalidFrame, /wrong_field_type/));
  await probe('V2 ref an object', [wsFrame(TEXT, '["1",{},"room:p","phx_join",{}]')], closedWith(CloseCodes.invalidFrame, /wrong_field_type/));
  await probe('V2 payload an array', [wsFrame(TEXT, '["1","1","room:p","phx_join",[]]')], closedWith(CloseCodes.invalidFrame, /wrong_field_type/));
  await probe('V2 payload a string', [wsFrame(TEXT, '["1","1","room:p","phx_join","x"]')], closedWith(CloseCodes.invalidFrame, /wrong_field_type/));
  await probe('V2 object frame (V1 shape on V2)', [wsFrame(TEXT, '{"topic":"room:p","event":"phx_join","payload":{},"ref":"1"}')], closedWith(CloseCodes.invalidFrame, /wrong_shape/));
  await probe('V2 with 7 elements (extra ignored)', [wsFrame(TEXT, '["1","1","room:p","phx_join",{},{},"x"]')], (o) => {
    assert.equal(o.closeCode, null);
    assert.deepEqual(textFrames(o)[0], ['1', '1', 'room:p', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
  }, undefined, (o) => o.frames.length >= 1);
});

test('V1 objects with missing or mistyped fields: 1007', async () => {
  const v1 = 'vsn=1.0.0';
  await probe('V1 without ref', [wsFrame(TEXT, '{"topic":"room:p","event":"phx_join","payload":{}}')], closedWith(CloseCodes.invalidFrame, /"ref"/), v1);
  await probe('V1 without topic', [wsFrame(TEXT, '{"event":"phx_join","payload":{},"ref":"1"}')], closedWith(CloseCodes.invalidFrame, /"topic"/), v1);
  await probe('V1 without payload', [wsFrame(TEXT, '{"topic":"room:p","event":"phx_join","ref":"1"}')], closedWith(CloseCodes.invalidFrame, /"payload"/), v1);
  await probe('V1 event a number', [wsFrame(TEXT, '{"topic":"room:p","event":1,"payload":{},"ref":"1"}')], closedWith(CloseCodes.invalidFrame, /wrong_field_type/), v1);
  await probe('V1 array frame', [wsFrame(TEXT, '["1","1","room:p","phx_join",{}]')], closedWith(CloseCodes.invalidFrame, /wrong_shape/), v1);
  await probe('V1 binary frame', [wsFrame(BINARY, Buffer.from([0, 0, 0, 1, 1, 0x61, 0x62]))], closedWith(CloseCodes.invalidFrame, /binary_unsupported/), v1);
  await probe('V1 complete frame (control)', [wsFrame(TEXT, '{"topic":"room:p","event":"phx_join","payload":{},"ref":"1"}')], (o) => {
    assert.equal(o.closeCode, null);
    assert.deepEqual(textFrames(o)[0], { event: 'phx_reply', payload: { response: { joined: true }, status: 'ok' }, ref: '1', topic: 'room:p' });
  }, v1, (o) => o.frames.length >= 1);
});

test('binary frames whose kind or lengths lie: 1007', async () => {
  const push = (sizes: number[], rest: number[]) => wsFrame(BINARY, Buffer.from([0, ...sizes, ...rest]));
  await probe('binary empty', [wsFrame(BINARY, Buffer.alloc(0))], closedWith(CloseCodes.invalidFrame, /truncated_frame/));
  await probe('binary kind 1 (reply) from a client', [wsFrame(BINARY, Buffer.from([1, 0, 0, 1, 1, 0x61, 0x62]))], closedWith(CloseCodes.invalidFrame, /unknown_binary_kind/));
  await probe('binary kind 2 (broadcast) from a client', [wsFrame(BINARY, Buffer.from([2, 1, 1, 0x61, 0x62]))], closedWith(CloseCodes.invalidFrame, /unknown_binary_kind/));
  await probe('binary kind 255', [wsFrame(BINARY, Buffer.from([255, 0, 0, 0, 0]))], closedWith(CloseCodes.invalidFrame, /unknown_binary_kind/));
  await probe('binary header cut short', [push([1, 1], [])], closedWith(CloseCodes.invalidFrame, /truncated_frame/));
  await probe('binary topic length 255 past the end', [push([0, 1, 255, 1], [0x31, 0x61])], closedWith(CloseCodes.invalidFrame, /truncated_frame/));
  await probe('binary event length past the end', [push([0, 1, 1, 200], [0x31, 0x61, 0x62])], closedWith(CloseCodes.invalidFrame, /truncated_frame/));
  await probe('binary topic not UTF-8', [push([0, 1, 2, 1], [0x31, 0xff, 0xfe, 0x65])], closedWith(CloseCodes.invalidFrame, /invalid_utf8/));
  await probe('binary push to a joined topic (control)', [join('room:b'), push([1, 1, 6, 6], [0x31, 0x32, ...Buffer.from('room:bbinary'), 9, 8, 7])], (o) => {
    assert.equal(o.closeCode, null);
    const bin = o.frames.find((f) => f.opcode === BINARY);
    assert.ok(bin, 'a binary reply');
    assert.deepEqual([...bin.payload.subarray(-3)], [9, 8, 7]);
  }, undefined, (o) => o.frames.some((f) => f.opcode === BINARY));
});

test('frames at maxFrameBytes pass; one byte over closes with 1009; a 2^53 length header closes with 1009', async () => {
  const prefix = '["1","2","room:p","echo",{"x":"';
  const suffix = '"}]';
  const fill = (total: number) => prefix + 'a'.repeat(total - prefix.length - suffix.length) + suffix;
  await probe(`text frame of exactly maxFrameBytes (${PROBE_MAX_FRAME_BYTES})`, [join(), wsFrame(TEXT, fill(PROBE_MAX_FRAME_BYTES))], (o) => {
    assert.equal(o.closeCode, null);
    const replies = textFrames(o) as unknown[][];
    assert.equal(replies.length >= 2, true);
    assert.equal((replies.find((f) => f[1] === '2')?.[4] as { status: string }).status, 'ok');
  }, undefined, (o) => (textFrames(o) as unknown[][]).some((f) => f[1] === '2'));
  await probe('text frame of maxFrameBytes + 1', [join(), wsFrame(TEXT, fill(PROBE_MAX_FRAME_BYTES + 1))], closedWith(CloseCodes.messageTooBig));
  await probe('binary frame of maxFrameBytes + 1', [wsFrame(BINARY, Buffer.alloc(PROBE_MAX_FRAME_BYTES + 1))], closedWith(CloseCodes.messageTooBig));
  // The header alone: the server must refuse before it allocates or waits for any of those bytes.
  await probe('header announcing 2^53 bytes', [wsFrame(TEXT, Buffer.alloc(0), { lengthOverride: 2n ** 53n }).subarray(0, 14)], closedWith(CloseCodes.messageTooBig));
  await probe('header announcing 2^63 bytes', [wsFrame(TEXT, Buffer.alloc(0), { lengthOverride: 2n ** 63n }).subarray(0, 14)], closedWith(CloseCodes.messageTooBig));
  await probe('header announcing 2^32 bytes', [wsFrame(BINARY, Buffer.alloc(0), { lengthOverride: 2n ** 32n }).subarray(0, 14)], closedWith(CloseCodes.messageTooBig));
});

test('fragments: reassembled when valid, 1009 past the limit in total, 1002 when out of order', async () => {
  const whole = JSON.stringify(['1', '1', 'room:f', 'phx_join', {}]);
  await probe('a join in three fragments with a ping between them', [
    wsFrame(TEXT, whole.slice(0, 5), { fin: false }),
    wsFrame(PING, 'mid'),
    wsFrame(CONT, whole.slice(5, 12), { fin: false }),
    wsFrame(CONT, whole.slice(12)),
  ], (o) => {
    assert.equal(o.closeCode, null);
    assert.deepEqual(textFrames(o)[0], ['1', '1', 'room:f', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
    assert.ok(o.frames.some((f) => f.opcode === 0xa && f.payload.toString() === 'mid'), 'pong echoes the ping payload');
  }, undefined, (o) => o.frames.some((f) => f.opcode === 0xa) && textFrames(o).length >= 1);
  const half = Buffer.alloc(PROBE_MAX_FRAME_BYTES / 2 + 1, 0x61);
  await probe('fragments that add up to over maxFrameBytes', [wsFrame(TEXT, half, { fin: false }), wsFrame(CONT, half)], closedWith(CloseCodes.messageTooBig));
  await probe('a continuation with no message started', [wsFrame(CONT, 'x')], closedWith(CloseCodes.protocolError));
  await probe('a new text frame inside a fragmented one', [wsFrame(TEXT, '["1"', { fin: false }), wsFrame(TEXT, '"x"]')], closedWith(CloseCodes.protocolError));
  await probe('a fragmented ping', [wsFrame(PING, 'ab', { fin: false })], closedWith(CloseCodes.protocolError));
});

test('control frames and framing violations: pings answered, violations 1002', async () => {
  await probe('ping with a 125-byte payload', [wsFrame(PING, Buffer.alloc(125, 7))], (o) => {
    assert.equal(o.closeCode, null);
    const pong = o.frames.find((f) => f.opcode === 0xa);
    assert.ok(pong && pong.payload.equals(Buffer.alloc(125, 7)), 'the pong carries the same 125 bytes');
  }, undefined, (o) => o.frames.length >= 1);
  await probe('ping with a 126-byte payload', [wsFrame(PING, Buffer.alloc(126, 7))], closedWith(CloseCodes.protocolError));
  await probe('an unmasked client frame', [wsFrame(TEXT, '[]', { mask: false })], closedWith(CloseCodes.protocolError));
  await probe('RSV1 set without an extension', [wsFrame(TEXT, '[]', { rsv: 4 })], closedWith(CloseCodes.protocolError));
  await probe('unknown opcode 0x3', [wsFrame(0x3, 'x')], closedWith(CloseCodes.protocolError));
  await probe('close frame with an invalid code (999)', [wsFrame(0x8, Buffer.from([0x03, 0xe7]))], closedWith(CloseCodes.protocolError));
  await probe('close frame with a 1-byte body', [wsFrame(0x8, Buffer.from([0x03]))], closedWith(CloseCodes.protocolError));
});

test('no probe reached the process: the errors seen are reports, and the server still counts its connections right', async () => {
  await assertServes(s);
  assert.equal(s.server.connectionCount <= 1, true, `connections left open: ${s.server.connectionCount}`);
  for (const { context } of s.errors) assert.match(context, /^(decode|socket) /, context);
});
