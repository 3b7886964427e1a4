import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createSerializer,
  decodeBinary,
  encodeBinary,
  negotiateVersion,
  ProtocolError,
  type ProtocolErrorCode,
} from '../../src/protocol/index.ts';

const v2server = createSerializer(2, 'server');
const v1server = createSerializer(1, 'server');

function rejects(fn: () => unknown, code: ProtocolErrorCode, field?: string): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (field) assert.equal(err.field, field);
    assert.ok(err.message.length > 10, 'the message says what is wrong');
    return;
  }
  assert.fail(`expected ${code}`);
}

describe('bad input yields a typed ProtocolError', () => {
  const cases: Array<[string, string | Uint8Array, ProtocolErrorCode, string?]> = [
    ['not JSON', '[null,"1",', 'not_json'],
    ['V2 object instead of array', '{"topic":"x"}', 'wrong_shape'],
    ['V2 too few elements', '[null,"1","t","e"]', 'wrong_arity'],
    ['numeric ref', '[null,1,"t","e",{}]', 'wrong_field_type', 'ref'],
    ['numeric join_ref', '[2,"1","t","e",{}]', 'wrong_field_type', 'join_ref'],
    ['null topic', '[null,"1",null,"e",{}]', 'wrong_field_type', 'topic'],
    ['array payload', '[null,"1","t","e",[]]', 'wrong_field_type', 'payload'],
    ['string payload', '[null,"1","t","e","x"]', 'wrong_field_type', 'payload'],
    ['empty binary', new Uint8Array([]), 'truncated_frame'],
    ['binary header cut short', new Uint8Array([0, 1, 1]), 'truncated_frame'],
    ['binary field cut short', new Uint8Array([0, 1, 1, 5, 1, 0x31, 0x32, 0x74]), 'truncated_frame'],
    ['binary reply from a client', new Uint8Array([1, 0, 0, 0, 0]), 'unknown_binary_kind'],
    ['binary kind 9', new Uint8Array([9, 0, 0, 0, 0]), 'unknown_binary_kind'],
    ['binary topic not UTF-8', new Uint8Array([0, 0, 0, 1, 1, 0xff, 0x65]), 'invalid_utf8', 'topic'],
  ];
  for (const [name, input, code, field] of cases) {
    it(`V2: ${name} -> ${code}`, () => rejects(() => v2server.decode(input), code, field));
  }

  it('V1: missing key names it', () => rejects(() => v1server.decode('{"topic":"t","event":"e","payload":{}}'), 'wrong_arity', 'ref'));
  it('V1: array instead of object', () => rejects(() => v1server.decode('[null,"1","t","e",{}]'), 'wrong_shape'));
  it('V1: binary frames are refused', () => rejects(() => v1server.decode(new Uint8Array([0])), 'binary_unsupported'));
  it('V1: binary payloads cannot be encoded', () =>
    rejects(() => v1server.encode({ joinRef: null, ref: null, topic: 't', event: 'e', payload: new Uint8Array(1) }), 'binary_unsupported'));

  it('a field over 255 bytes is refused on encode', () =>
    rejects(
      () => encodeBinary({ joinRef: '1', ref: '2', topic: 'x'.repeat(256), event: 'e', payload: new Uint8Array(1) }, 'client->server'),
      'field_too_long',
      'topic',
    ));
  it('multi-byte characters count as bytes, not characters', () =>
    rejects(
      () => encodeBinary({ joinRef: null, ref: null, topic: 't', event: 'é'.repeat(128), payload: new Uint8Array(1) }, 'server->client'),
      'field_too_long',
      'event',
    ));
  it('a 255-byte field is accepted', () => {
    const f = encodeBinary({ joinRef: '1', ref: '2', topic: 'x'.repeat(255), event: 'e', payload: new Uint8Array(1) }, 'client->server');
    assert.equal(decodeBinary(f, 'client->server').topic.length, 255);
  });
});

describe('version negotiation mirrors Phoenix (~> 1.0.0 / ~> 2.0.0)', () => {
  const table: Array<[string | undefined, 1 | 2 | null]> = [
    [undefined, 1], ['1.0.0', 1], ['1.0.7', 1], ['2.0.0', 2], ['2.0.3', 2],
    ['2.1.0', null], ['3.0.0', null], ['1.1.0', null], ['2', null], ['abc', null], ['', null],
  ];
  for (const [vsn, expected] of table) {
    it(`${vsn ?? '(missing)'} -> ${expected ?? '403'}`, () => assert.equal(negotiateVersion(vsn), expected));
  }
});

describe('Tether meta rides as a sixth V2 element', () => {
  it('round-trips and is absent unless set', () => {
    const c = createSerializer(2, 'client');
    const text = v2server.encode({ joinRef: null, ref: null, topic: 't', event: 'e', payload: { a: 1 }, meta: { o: 7, e: 'x' } });
    assert.equal(text, '[null,null,"t","e",{"a":1},{"o":7,"e":"x"}]');
    assert.deepEqual(c.decode(text as string).meta, { o: 7, e: 'x' });
    assert.equal(c.decode('[null,null,"t","e",{}]').meta, undefined);
    assert.equal(c.decode('[null,null,"t","e",{},"junk"]').meta, undefined);
  });
});
