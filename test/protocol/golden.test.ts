import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSerializer, negotiateVersion, type Frame } from '../../src/protocol/index.ts';
import { loadGolden, wire } from '../helpers/golden.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

/** What each binary golden frame means, written out from its documented meaning. */
const binaryMeaning: Record<string, Frame> = {
  v2_bin_push_js_vector: { joinRef: '0', ref: '1', topic: 't', event: 'e', payload: new Uint8Array([1]) },
  v2_bin_push_server_vector: { joinRef: '12', ref: '123', topic: 'topic', event: 'event', payload: bytes('efg') },
  v2_bin_push_integration: { joinRef: '11', ref: '2', topic: 'room:bin', event: 'binary_event', payload: new Uint8Array([1, 2]) },
  v2_bin_reply_integration: {
    joinRef: '11', ref: '2', topic: 'room:bin', event: 'phx_reply',
    payload: { status: 'ok', response: new Uint8Array([1, 2, 3, 4]) },
  },
  v2_bin_server_push_integration: { joinRef: '11', ref: null, topic: 'room:bin', event: 'binary_event', payload: new Uint8Array([0, 1]) },
  v2_bin_reply_vector: { joinRef: '12', ref: '123', topic: 'topic', event: 'phx_reply', payload: { status: 'ok', response: bytes('efg') } },
  v2_bin_server_push_vector: { joinRef: '12', ref: null, topic: 'topic', event: 'event', payload: bytes('efg') },
  v2_bin_broadcast_vector: { joinRef: null, ref: null, topic: 'topic', event: 'event', payload: bytes('efg') },
  v2_bin_reply_error: { joinRef: '3', ref: '9', topic: 'room:lobby', event: 'phx_reply', payload: { status: 'error', response: new Uint8Array([255]) } },
};

/** The meaning of a JSON golden frame: its fields as Phoenix's own decoder reads them. */
function jsonMeaning(text: string, vsn: string): Frame {
  const v = JSON.parse(text);
  if (vsn === '2.0.0') return { joinRef: v[0], ref: v[1], topic: v[2], event: v[3], payload: v[4] };
  return { joinRef: v.join_ref ?? null, ref: v.ref, topic: v.topic, event: v.event, payload: v.payload };
}

const normalise = (f: Frame) => ({
  ...f,
  payload: f.payload instanceof Uint8Array ? Array.from(f.payload) : f.payload,
});

describe('golden frames (../shared/phoenix-golden-frames.json)', () => {
  const all = loadGolden();

  it('covers every binary frame in the reference', () => {
    const names = all.filter((g) => g.binary).map((g) => g.name).sort();
    assert.deepEqual(names, Object.keys(binaryMeaning).sort());
  });

  for (const g of all) {
    const version = negotiateVersion(g.vsn);
    assert.ok(version, `vsn ${g.vsn} negotiates`);
    const receiver = createSerializer(version, g.direction === 'client->server' ? 'server' : 'client');
    const sender = createSerializer(version, g.direction === 'client->server' ? 'client' : 'server');

    it(`${g.name}: decodes to its documented meaning`, () => {
      const decoded = receiver.decode(wire(g));
      const expected = g.binary ? binaryMeaning[g.name] : jsonMeaning(g.frame, g.vsn);
      if (decoded.event === 'phx_reply' && g.binary) {
        const p = decoded.payload as { status: string; response: Uint8Array };
        const e = expected.payload as { status: string; response: Uint8Array };
        assert.equal(p.status, e.status);
        assert.deepEqual(Array.from(p.response), Array.from(e.response));
        assert.deepEqual({ ...decoded, payload: null }, { ...expected, payload: null });
      } else {
        assert.deepEqual(normalise(decoded), normalise(expected));
      }
    });

    // V1 clients may order keys freely and omit join_ref, so only the server's V1 output is byte-fixed.
    const byteExact = g.direction === 'server->client' || g.vsn === '2.0.0';
    if (byteExact) {
      it(`${g.name}: encodes back byte-exact`, () => {
        const decoded = receiver.decode(wire(g));
        const encoded = sender.encode(decoded);
        if (g.binary) {
          assert.ok(encoded instanceof Uint8Array);
          assert.equal(Buffer.from(encoded).toString('hex'), g.frame);
        } else {
          assert.equal(encoded, g.frame);
        }
      });
    }
  }
});
