import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEnvelope, decodePayload, encodeInbox, encodeMessage, encodePresence, EnvelopeError, messageHead, netstring, payloadBytes } from '../../src/broker/envelope.ts';

const asBuffer = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v) : v);

test('a message survives any topic, event and exclude text, with and without a position', () => {
  const topic = 'room:ünï\ncode:{x}';
  const plain = decodeEnvelope(asBuffer(encodeMessage(topic, 'node-1', 'conn:7', 'ev 1:2', { a: [1, 'ß'] })));
  assert.deepEqual(plain, { kind: 'message', message: { topic, event: 'ev 1:2', payload: { a: [1, 'ß'] }, origin: 'node-1', exclude: 'conn:7' } });

  // What the Lua publish script builds: head, then epoch and offset netstrings, then the payload bytes.
  const scripted = Buffer.concat([Buffer.from(messageHead(topic, 'n2', undefined, 'e') + netstring('Ep0ch') + netstring('42')), payloadBytes({ k: 1 })]);
  assert.deepEqual(decodeEnvelope(scripted), {
    kind: 'message',
    message: { topic, event: 'e', payload: { k: 1 }, origin: 'n2', position: { epoch: 'Ep0ch', offset: 42 } },
  });
});

test('binary payloads come back as plain Uint8Array copies with every byte value', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const buf = asBuffer(encodeMessage('t', 'n', undefined, 'bin', bytes));
  const decoded = decodeEnvelope(buf);
  assert.equal(decoded.kind, 'message');
  const payload = decoded.kind === 'message' ? decoded.message.payload : null;
  assert.equal(Object.getPrototypeOf(payload), Uint8Array.prototype);
  assert.deepEqual(payload, bytes);
  buf[buf.length - 1] = 0;
  assert.equal((payload as Uint8Array)[255], 255, 'the payload must not alias the received buffer');
  assert.deepEqual(decodePayload(payloadBytes(new Uint8Array(0)), 0), new Uint8Array(0));
});

test('presence changes round-trip', () => {
  const change = { topic: 'room:1', key: 'al\nice', node: 'node-a', kind: 'leave' as const, meta: { phx_ref: 'r', x: 1 } };
  assert.deepEqual(decodeEnvelope(encodePresence(change)), { kind: 'presence', change });
});

test('inbox envelopes round-trip any kind and data, newlines and colons included', () => {
  for (const type of ['s', 'q', 'a', 'x'] as const) {
    const envelope = { to: 'node-b', from: 'node-a', type, kind: '__proto__:k\n', id: 'z9', timeoutMs: 1500, data: '{"m":"GET"}\n[1,"é 😀",{}]\n' };
    assert.deepEqual(decodeEnvelope(Buffer.from(encodeInbox(envelope))), { kind: 'inbox', envelope });
  }
  const empty = { to: 'n', from: 'm', type: 's' as const, kind: '', id: '', timeoutMs: 0, data: '' };
  assert.deepEqual(decodeEnvelope(Buffer.from(encodeInbox(empty))), { kind: 'inbox', envelope: empty });
  assert.throws(() => decodeEnvelope(Buffer.from('I1:n1:m1:w0:0:1:0')), /unknown inbox message type/);
});

test('malformed envelopes raise EnvelopeError', () => {
  assert.throws(() => decodeEnvelope(Buffer.from('X1:a')), EnvelopeError);
  assert.throws(() => decodeEnvelope(Buffer.from('M9:abc')), /truncated/);
  assert.throws(() => decodeEnvelope(Buffer.from('M1a:b')), /bad netstring length/);
  assert.throws(() => decodeEnvelope(Buffer.from('M1:t1:n0:1:e0:0:z{}')), /unknown payload kind/);
  assert.throws(() => decodeEnvelope(Buffer.from('P1:t1:n1:kq{}')), /unknown presence kind/);
});
