import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryTicks, niceTicks } from '../../src/dashboard/charts.ts';
import { formatBytes, formatCount, formatDuration, formatMs, formatRate } from '../../src/dashboard/format.ts';

test('numbers read the way an operator expects', () => {
  assert.deepEqual([0, 950, 9999, 10_000, 34_500, 1_250_000].map(formatCount), ['0', '950', '9999', '10k', '34.5k', '1.3M']);
  assert.deepEqual([0.25, 12.4, 5300].map(formatRate), ['0.3', '12', '5300']);
  assert.deepEqual([0, 0.123, 4.56, 250].map(formatMs), ['0', '0.12', '4.6', '250']);
  assert.deepEqual([512, 30_720, 5 * 1024 ** 3].map(formatBytes), ['512 B', '30 KiB', '5 GiB']);
  assert.deepEqual([45_000, 725_000, 3 * 3600_000 + 120_000, 50 * 3600_000].map(formatDuration), ['45s', '12m 05s', '3h 02m', '2d 2h']);
});

test('chart ticks are round, start at zero and cover the maximum', () => {
  assert.deepEqual(niceTicks(7), [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(0.95), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.deepEqual(binaryTicks(30_000), [0, 10_240, 20_480, 30_720]);
  for (const max of [1, 3.3, 17, 999, 123_456]) {
    const ticks = niceTicks(max);
    assert.equal(ticks[0], 0);
    assert.ok(ticks[ticks.length - 1] >= max && ticks.length <= 6, `${max}: ${ticks.join(',')}`);
  }
});
