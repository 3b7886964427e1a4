import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../../src/protocol/frame.ts';
import { decodeV2Json, encodeV2JsonRaw } from '../../src/protocol/codec-json.ts';
import {
  encodePositionedBroadcast,
  extensionClientId,
  joinMeta,
  joinReplyMeta,
  optsIn,
  parseJoinReplyMeta,
  parseSince,
  positionMetaJson,
  positionOf,
  pushId,
  pushMeta,
  recoveryConnectParams,
} from '../../src/protocol/extension.ts';
import { dedupScope } from '../../src/server/recovery/push-dedup.ts';

test('a broadcast position written by the server is read back by the client', () => {
  const text = encodeV2JsonRaw(null, null, 'room:1', 'msg', '{"a":1}', positionMetaJson({ epoch: 'k"3', offset: 42 }));
  assert.equal(text, '[null,null,"room:1","msg",{"a":1},{"o":42,"e":"k\\"3"}]');
  assert.deepEqual(positionOf(decodeV2Json(text).meta), { epoch: 'k"3', offset: 42 });
  assert.equal(encodePositionedBroadcast('room:1', 'msg', '{"a":1}', { epoch: 'k"3', offset: 42 }), text);
  assert.equal(positionOf({ o: '1', e: 'e' }), undefined);
});

test('the rejoin position a client sends is what the server parses', () => {
  assert.deepEqual(parseSince(joinMeta({ epoch: 'e', offset: 7 })), { ok: true, since: { epoch: 'e', offset: 7 } });
  assert.deepEqual(parseSince(undefined), { ok: true, since: undefined });
  const bads: JsonValue[] = [{ o: -1, e: 'e' }, { o: 1.5, e: 'e' }, { o: 1 }, 'x'];
  for (const bad of bads) {
    const r = parseSince({ since: bad });
    assert.equal(r.ok, false);
  }
});

test('join reply meta round-trips into the client context', () => {
  const position = { epoch: 'e', offset: 3 };
  assert.deepEqual(parseJoinReplyMeta(joinReplyMeta({ kind: 'recovered', position }), true), {
    wasRecovering: true,
    recovered: true,
    position,
  });
  assert.deepEqual(joinReplyMeta({ kind: 'fresh', position }), { o: 3, e: 'e' });
  assert.deepEqual(joinReplyMeta({ kind: 'lost', reason: 'unavailable', position: { epoch: '', offset: 0 } }), {
    recovered: false,
    reason: 'unavailable',
  });
});

test('opt-in, client scope and push ids are validated', () => {
  assert.equal(optsIn({ tether: '1' }), true);
  assert.equal(optsIn({ vsn: '2.0.0' }), false);
  assert.equal(optsIn(recoveryConnectParams(undefined)), true);
  assert.deepEqual(recoveryConnectParams('c'), { tether: '1', tether_cid: 'c' });
  assert.equal(extensionClientId({ tether_cid: 'x'.repeat(129) }), undefined);
  assert.equal(dedupScope('user:1', { tether_cid: '' }, 'x'), 'user:1\u0000conn:x');
  assert.equal(dedupScope('user:1', { tether_cid: 'c' }, 'x'), 'user:1\u0000c');
  assert.equal(dedupScope(null, {}, 'x'), '\u0000conn:x');
  assert.equal(pushId(pushMeta('m-1')), 'm-1');
  assert.equal(pushId({ id: 'x'.repeat(129) }), undefined);
  assert.equal(pushId({ id: 5 }), undefined);
});
