/** The client's UTF-8 count (bytesIn, bytesOut, maxFrameBytes, the outbox's byte bound) is exact for any text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { utf8Length } from '../../src/client/endpoint.ts';

const codeUnits = (units: number[]) => String.fromCharCode(...units);
/** Any UTF-16 code units, lone surrogates included, weighted towards the ranges whose byte counts differ. */
const unit = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0x7ff }), fc.integer({ min: 0x800, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff }));

test('utf8Length equals the encoded size of any text, lone surrogates included', () => {
  fc.assert(fc.property(fc.array(unit, { maxLength: 600 }), (units) => {
    const text = codeUnits(units);
    assert.equal(utf8Length(text), Buffer.byteLength(text, 'utf8'));
  }), { numRuns: 500 });
  for (const text of ['你'.repeat(20_000), `${'a'.repeat(16_383)}😀${'é'.repeat(9000)}`, `${'\ud83d'.repeat(7000)}x${'\ude00'.repeat(7000)}`, 'a'.repeat(100_000)]) {
    assert.equal(utf8Length(text), Buffer.byteLength(text, 'utf8'));
  }
  assert.equal(utf8Length('\ud800é'), 5, 'a lone high surrogate before a non-ASCII character: U+FFFD, then the character');
});
