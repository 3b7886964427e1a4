import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PositionTracker } from '../../src/client/recovery/position-tracker.ts';
import { joinMeta, parseJoinReplyMeta, positionOf, pushMeta, recoveryConnectParams } from '../../src/protocol/extension.ts';

test('in-sequence messages advance the position', () => {
  const t = new PositionTracker();
  t.set('room', { epoch: 'e', offset: 4 });
  assert.deepEqual(t.check('room', { epoch: 'e', offset: 5 }), { kind: 'next' });
  assert.deepEqual(t.check('room', { epoch: 'e', offset: 6 }), { kind: 'next' });
  assert.deepEqual(t.get('room'), { epoch: 'e', offset: 6 });
});

test('a repeated or older offset is a duplicate and does not move the position', () => {
  const t = new PositionTracker();
  t.set('room', { epoch: 'e', offset: 4 });
  assert.equal(t.check('room', { epoch: 'e', offset: 4 }).kind, 'duplicate');
  assert.equal(t.check('room', { epoch: 'e', offset: 2 }).kind, 'duplicate');
  assert.deepEqual(t.get('room'), { epoch: 'e', offset: 4 });
});

test('a skipped offset is a gap: the position stays at the last good message', () => {
  const t = new PositionTracker();
  t.set('room', { epoch: 'e', offset: 4 });
  assert.deepEqual(t.check('room', { epoch: 'e', offset: 7 }), {
    kind: 'gap',
    last: { epoch: 'e', offset: 4 },
    received: { epoch: 'e', offset: 7 },
  });
  assert.deepEqual(t.get('room'), { epoch: 'e', offset: 4 });
});

test('a new epoch is reported and the position stays for the rejoin', () => {
  const t = new PositionTracker();
  t.set('room', { epoch: 'e', offset: 4 });
  assert.equal(t.check('room', { epoch: 'f', offset: 1 }).kind, 'epoch_changed');
  assert.deepEqual(t.get('room'), { epoch: 'e', offset: 4 });
});

test('the first positioned message on an untracked topic starts tracking; forget clears it', () => {
  const t = new PositionTracker();
  assert.equal(t.check('a', { epoch: 'e', offset: 9 }).kind, 'next');
  assert.deepEqual(t.get('a'), { epoch: 'e', offset: 9 });
  t.forget('a');
  assert.equal(t.get('a'), undefined);
});

test('wire helpers read and write the documented meta shapes', () => {
  assert.deepEqual(positionOf({ o: 3, e: 'x' }), { epoch: 'x', offset: 3 });
  assert.equal(positionOf({ id: 'a' }), undefined);
  assert.equal(positionOf(undefined), undefined);
  assert.deepEqual(joinMeta({ epoch: 'x', offset: 3 }), { since: { o: 3, e: 'x' } });
  assert.equal(joinMeta(undefined), undefined);
  assert.deepEqual(pushMeta('m1'), { id: 'm1' });
  assert.deepEqual(recoveryConnectParams('c1'), { tether: '1', tether_cid: 'c1' });
  assert.deepEqual(parseJoinReplyMeta({ recovered: true, o: 9, e: 'x' }, true), {
    wasRecovering: true,
    recovered: true,
    position: { epoch: 'x', offset: 9 },
  });
  assert.deepEqual(parseJoinReplyMeta({ recovered: false, reason: 'epoch_changed', o: 1, e: 'y' }, true), {
    wasRecovering: true,
    recovered: false,
    reason: 'epoch_changed',
    position: { epoch: 'y', offset: 1 },
  });
  // A Phoenix server sends no meta: not recovered, no reason, no position.
  assert.deepEqual(parseJoinReplyMeta(undefined, true), { wasRecovering: true, recovered: false, position: undefined });
});
