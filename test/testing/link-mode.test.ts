/** The link's mode and script grammar: what parses to what, and the one-line errors for what does not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLinkMode, LinkScriptError, parseLinkMode, parseLinkScript, parseRate } from '../../src/testing/index.ts';

test('modes: bare words, latency with jitter, bandwidth units, combinations, and their text form', () => {
  assert.deepEqual(parseLinkMode('heal'), { kind: 'ok' });
  assert.deepEqual(parseLinkMode(' half-open '), { kind: 'half-open' });
  assert.deepEqual(parseLinkMode('latency=1.5s~20ms'), { kind: 'ok', latencyMs: 1500, jitterMs: 20 });
  assert.deepEqual(parseLinkMode('latency=100ms,bandwidth=8kB/s'), { kind: 'ok', latencyMs: 100, bytesPerSecond: 8000 });
  assert.deepEqual([parseRate('64KiB/s'), parseRate('1MiB'), parseRate('512'), parseRate('2mb/s')], [65536, 1048576, 512, 2_000_000]);
  for (const text of ['ok', 'blackhole', 'reset', 'half-open', 'latency=200ms~50ms', 'latency=100ms,bandwidth=8000']) {
    assert.equal(formatLinkMode(parseLinkMode(text)), text);
  }
});

test('scripts: steps with durations, a bare last step, a trailing semicolon', () => {
  const { steps } = parseLinkScript('5s ok; 3s blackhole; 2s latency=200ms; heal;');
  assert.deepEqual(
    steps.map((s) => [s.durationMs, formatLinkMode(s.mode)]),
    [[5000, 'ok'], [3000, 'blackhole'], [2000, 'latency=200ms'], [null, 'ok']],
  );
  assert.deepEqual(parseLinkScript('blackhole').steps.map((s) => s.durationMs), [null]);
});

test('bad modes and scripts name the step and what is wrong', () => {
  const bad: [string, RegExp][] = [
    ['', /the script is empty/],
    ['5s ok;; heal', /step 2 is empty/],
    ['3x blackhole', /step 1 "3x blackhole": "3x" is not a duration/],
    ['blackhole; 2s ok', /step 1 "blackhole": only the last step may omit its duration/],
    ['0s ok; heal', /a step lasts more than 0 ms/],
    ['2s sideways', /unknown mode "sideways"/],
    ['2s blackhole=5', /mode "blackhole" takes no argument/],
    ['2s latency=fast', /"fast" is not a duration/],
    ['2s bandwidth=0', /at least 1 byte\/s/],
    ['2s jitter=5ms', /unknown setting "jitter"/],
    ['2s ok extra', /expected a duration and a mode/],
  ];
  for (const [script, message] of bad) {
    assert.throws(() => parseLinkScript(script), (err: Error) => err instanceof LinkScriptError && message.test(err.message) && !err.message.includes('\n'), script);
  }
});
