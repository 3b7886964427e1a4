import assert from 'node:assert/strict';
import { test } from 'node:test';
import { account, formatTable } from './harness/table.ts';

test('accounting counts duplicates, losses and order against 1..sent', () => {
  assert.deepEqual(account(5, [1, 2, 2, 4, 5]), { unique: 4, duplicates: 1, lost: 1, inOrder: false });
  assert.deepEqual(account(3, [1, 2, 3]), { unique: 3, duplicates: 0, lost: 0, inOrder: true });
  const table = formatTable([{ scenario: 'x', sent: 1, received: 1, duplicates: 0, lost: 0, recoverMs: 1234, note: '' }]);
  assert.match(table, /\| x +\| 1 +\| 1 +\| 0 +\| 0 +\| 1\.23 s/);
});
