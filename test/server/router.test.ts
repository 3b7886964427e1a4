import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { Router } from '../../src/server/router.ts';

const def = (): ChannelDefinition => ({ join: () => ok() });

test('exact topics win over patterns, and the longest prefix wins among patterns', () => {
  const room = def();
  const vip = def();
  const lobby = def();
  const router = new Router({ 'room:*': room, 'room:vip:*': vip, 'room:lobby': lobby });
  assert.equal(router.match('room:lobby')?.definition, lobby);
  assert.equal(router.match('room:vip:1')?.pattern, 'room:vip:*');
  assert.equal(router.match('room:42')?.definition, room);
  assert.equal(router.match('room:')?.definition, room);
  assert.equal(router.match('rooms'), null);
  assert.equal(router.match('other'), null);
});

test('a "*" anywhere but the end is refused with a message naming the pattern', () => {
  assert.throws(() => new Router({ 'room:*:x': def() }), /"room:\*:x".*may only end a pattern/);
});
