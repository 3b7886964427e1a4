/** Close codes in words: every code Tether defines has its own sentence, and the codes no endpoint sends too. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CloseCodes, closeCodeMeaning, describeClose } from '../../src/protocol/close-codes.ts';

test('every code in CloseCodes has its own words, not the fallback for its range', () => {
  const fallbacks = new Set([closeCodeMeaning(4999), closeCodeMeaning(3999), closeCodeMeaning(2999)]);
  for (const [name, code] of Object.entries(CloseCodes)) {
    assert.ok(!fallbacks.has(closeCodeMeaning(code)), `${name} (${code}) needs words in close-codes.ts`);
  }
});

test('the codes a user meets most say what happened', () => {
  assert.match(closeCodeMeaning(1006), /dropped without a close frame/);
  assert.match(closeCodeMeaning(CloseCodes.slowConsumer), /you read too slowly/);
  assert.match(closeCodeMeaning(CloseCodes.serviceRestart), /restarting/);
  assert.equal(describeClose(4001, 'slow consumer: over 1 bytes'), `4001 (${closeCodeMeaning(4001)}): slow consumer: over 1 bytes`);
  assert.equal(describeClose(4123), '4123 (closed by the application, with a code of its own)');
});

test('the table in docs/cli.md is the one the command prints', () => {
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| (\d{4}) \| (.+) \|$/gm)];
  assert.ok(rows.length >= 12);
  for (const [, code, words] of rows) assert.equal(words, closeCodeMeaning(Number(code)), `docs/cli.md row ${code}`);
  for (const code of Object.values(CloseCodes).filter((c) => c >= 4000)) assert.ok(rows.some(([, c]) => Number(c) === code), `docs/cli.md lists ${code}`);
});

test('no words carry parentheses, since the CLI prints them inside a pair', () => {
  for (const code of [1000, 1001, 1002, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 1015, 3000, 4000, 4001, 4002, 4003, 4999, 2000]) {
    assert.doesNotMatch(closeCodeMeaning(code), /[()]/, String(code));
  }
});
