/** The kit's recordings keep their newest entries only: the list utility and the recordings built on it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pushBounded } from '../../src/testing/bounded-list.ts';
import { notifyChange, waitFor, WaitTimeoutError } from '../../src/testing/index.ts';

test('pushBounded keeps the newest `limit` entries and says when it dropped one', () => {
  const list: number[] = [];
  assert.deepEqual([1, 2, 3].map((n) => pushBounded(list, n, 3)), [false, false, false]);
  assert.equal(pushBounded(list, 4, 3), true);
  assert.equal(pushBounded(list, 5, 3), true);
  assert.deepEqual(list, [3, 4, 5]);
});

test('a timed-out wait names the last 8 changes seen, oldest first', async () => {
  for (let i = 1; i <= 12; i++) notifyChange(`change ${i}`);
  await assert.rejects(waitFor(() => false, { timeoutMs: 1, what: 'nothing' }), (err: unknown) => {
    assert.ok(err instanceof WaitTimeoutError);
    assert.match(err.message, /last changes seen: change 5; change 6; .*; change 12$/);
    assert.doesNotMatch(err.message, /change 4;/);
    return true;
  });
});
