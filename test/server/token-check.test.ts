/** The one bearer-token reader and constant-time comparison every HTTP endpoint and shared-token hook uses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearerOf, tokenMatches } from '../../src/server/token-check.ts';

const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } });

test('bearerOf reads the token of an Authorization: Bearer header and nothing else', () => {
  assert.equal(bearerOf(req('Bearer s3cret')), 's3cret');
  assert.equal(bearerOf(req('Bearer ')), '');
  assert.equal(bearerOf(req()), undefined);
  assert.equal(bearerOf(req('Basic czNjcmV0')), undefined);
  assert.equal(bearerOf(req('Bearers3cret')), undefined);
});

test('tokenMatches: only the exact string matches, whatever its length; non-strings never do', () => {
  assert.equal(tokenMatches('s3cret', 's3cret'), true);
  assert.equal(tokenMatches('héllo', 'héllo'), true);
  for (const wrong of ['s3cre', 's3crett', 'S3cret', '', 's3cret ']) assert.equal(tokenMatches('s3cret', wrong), false, JSON.stringify(wrong));
  for (const notText of [undefined, null, 42, ['s3cret'], { toString: () => 's3cret' }]) assert.equal(tokenMatches('s3cret', notText), false);
  assert.equal(tokenMatches('', undefined), false, 'a missing token never matches, even an empty one');
});
