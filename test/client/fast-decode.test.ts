import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeV2TextFast } from '../../src/client/fast-decode.ts';
import { decodeV2Json } from '../../src/protocol/index.ts';
import { loadGolden } from '../helpers/golden.ts';

test('every golden V2 server->client text frame decodes exactly as the protocol codec decodes it', () => {
  const frames = loadGolden().filter((g) => g.vsn === '2.0.0' && g.direction === 'server->client' && !g.binary);
  assert.ok(frames.length > 10);
  for (const g of frames) {
    const fast = decodeV2TextFast(g.frame);
    assert.deepEqual(fast, decodeV2Json(g.frame), g.name);
  }
});

test('a sixth meta element is read, including after payloads that end in nested objects', () => {
  const cases = [
    '[null,null,"room:1","msg",{"a":1},{"o":42,"e":"k3Jx9Aq1"}]',
    '["1",null,"room:1","msg",{"list":[{"a":1},{"b":2}]},{"o":1,"e":"x"}]',
    '["1","2","room:1","phx_reply",{"response":{},"status":"ok"},{"recovered":false,"reason":"epoch_changed"}]',
  ];
  for (const text of cases) assert.deepEqual(decodeV2TextFast(text), decodeV2Json(text), text);
});

test('anything unusual returns null so the full codec decides (and names the problem)', () => {
  for (const text of [
    '[ null,null,"t","e",{}]',
    '[null,null,"t\\"x","e",{}]',
    '[null,null,"t","e",[]]',
    '[null,null,"t","e",{}',
    '{"topic":"t"}',
    '[null,null,"t","e",{"list":[{"a":1},{"b":2}]}]',
    '[nope,null,"t","e",{}]',
    '[null,null,null,"e",{}]',
  ]) {
    const fast = decodeV2TextFast(text);
    if (fast !== null) assert.deepEqual(fast, decodeV2Json(text), text);
  }
  assert.equal(decodeV2TextFast('[nope,null,"t","e",{}]'), null);
  assert.equal(decodeV2TextFast('[null,null,"t","e",[]]'), null);
});
