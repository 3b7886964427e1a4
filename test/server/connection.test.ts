/** Frame routing per connection: heartbeat, join/leave, unmatched, stale and null join_refs, limits, bad frames. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloseCodes } from '../../src/protocol/close-codes.ts';
import { error, ok, type ChannelDefinition } from '../../src/server/channel.ts';
import { join, RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

const echo: ChannelDefinition = {
  join: (_topic, params) => (params.deny ? error({ reason: 'denied' }) : ok()),
  handleIn: (event, payload) => (event === 'echo' ? ok(payload) : undefined),
};

let s: Started;
const errors: string[] = [];
before(async () => {
  s = await startServer({ channels: { 'room:*': echo }, maxChannelsPerConnection: 3, maxFrameBytes: 1024 });
  s.server.observe({ error: (_e, context) => errors.push(context) });
});
after(() => s.server.close());

test('heartbeat on "phoenix" is answered without any join', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send([null, '7', 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(await c.json(), [null, '7', 'phoenix', 'phx_reply', { response: {}, status: 'ok' }]);
  c.close();
});

test('leave replies ok and then sends phx_close with ref = join_ref', async () => {
  const c = await RawClient.connect(s.endpoint());
  assert.deepEqual(await join(c, 'room:a', '3'), ['3', '3', 'room:a', 'phx_reply', { response: {}, status: 'ok' }]);
  c.send(['3', '8', 'room:a', 'phx_leave', {}]);
  assert.deepEqual(await c.json(), ['3', '8', 'room:a', 'phx_reply', { response: {}, status: 'ok' }]);
  assert.deepEqual(await c.json(), ['3', '3', 'room:a', 'phx_close', {}]);
  // The channel is gone: an event on it is now an unmatched topic.
  c.send(['3', '9', 'room:a', 'echo', {}]);
  assert.deepEqual(await c.json(), [null, '9', 'room:a', 'phx_reply', { response: { reason: 'unmatched topic' }, status: 'error' }]);
  c.close();
});

test('leave of a topic never joined still gets ok with the join_ref echoed, and no phx_close', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send(['3', '9', 'room:none', 'phx_leave', {}]);
  assert.deepEqual(await c.json(), ['3', '9', 'room:none', 'phx_reply', { response: {}, status: 'ok' }]);
  assert.ok(await c.silentFor(100));
  c.close();
});

test('a join with no route gets the unmatched-topic reply with a null join_ref', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send(['1', '1', 'unmatched-topic', 'phx_join', {}]);
  assert.deepEqual(await c.json(), [null, '1', 'unmatched-topic', 'phx_reply', { response: { reason: 'unmatched topic' }, status: 'error' }]);
  c.close();
});

test('a join error keeps no channel', async () => {
  const c = await RawClient.connect(s.endpoint());
  assert.deepEqual(await join(c, 'room:x', '4', { deny: true }), ['4', '4', 'room:x', 'phx_reply', { response: { reason: 'denied' }, status: 'error' }]);
  c.send(['4', '5', 'room:x', 'echo', {}]);
  assert.deepEqual(await c.json(), [null, '5', 'room:x', 'phx_reply', { response: { reason: 'unmatched topic' }, status: 'error' }]);
  assert.equal(s.server.topics().get('room:x'), undefined);
  c.close();
});

test('a message with a stale join_ref is dropped without reply; a null join_ref is accepted', async () => {
  const c = await RawClient.connect(s.endpoint());
  await join(c, 'room:s', '3');
  c.send(['2', '4', 'room:s', 'echo', { n: 1 }]);
  c.send(['2', '5', 'room:s', 'phx_leave', {}]);
  assert.ok(await c.silentFor(150), 'stale event and stale leave must get no answer');
  c.send([null, '6', 'room:s', 'echo', { n: 2 }]);
  assert.deepEqual(await c.json(), ['3', '6', 'room:s', 'phx_reply', { response: { n: 2 }, status: 'ok' }]);
  c.close();
});

test('duplicate join: the new reply first, then phx_close for the old join_ref', async () => {
  const c = await RawClient.connect(s.endpoint());
  await join(c, 'room:d', '3');
  c.send(['13', '13', 'room:d', 'phx_join', {}]);
  assert.deepEqual(await c.json(), ['13', '13', 'room:d', 'phx_reply', { response: {}, status: 'ok' }]);
  assert.deepEqual(await c.json(), ['3', '3', 'room:d', 'phx_close', {}]);
  c.send(['13', '14', 'room:d', 'echo', { ok: true }]);
  assert.deepEqual(await c.json(), ['13', '14', 'room:d', 'phx_reply', { response: { ok: true }, status: 'ok' }]);
  assert.equal(s.server.topics().get('room:d'), 1);
  c.close();
});

test('the join past maxChannelsPerConnection gets "too many channels joined"; a rejoin of a joined topic still works', async () => {
  const c = await RawClient.connect(s.endpoint());
  for (const n of ['1', '2', '3']) await join(c, `room:m${n}`, n);
  assert.deepEqual(await join(c, 'room:m4', '4'), ['4', '4', 'room:m4', 'phx_reply', { response: { reason: 'too many channels joined' }, status: 'error' }]);
  assert.deepEqual(await join(c, 'room:m1', '5'), ['5', '5', 'room:m1', 'phx_reply', { response: {}, status: 'ok' }]);
  c.close();
});

test('the default limit is 100 channels, as in Phoenix', async () => {
  const d = await startServer({ channels: { 'room:*': echo } });
  const c = await RawClient.connect(d.endpoint());
  for (let i = 1; i <= 100; i++) c.send([`${i}`, `${i}`, `room:${i}`, 'phx_join', {}]);
  for (let i = 1; i <= 100; i++) {
    const reply = (await c.json()) as [string, string, string, string, { status: string }];
    assert.equal(reply[4].status, 'ok', `join ${i}`);
  }
  assert.deepEqual(await join(c, 'room:101', '101'), ['101', '101', 'room:101', 'phx_reply', { response: { reason: 'too many channels joined' }, status: 'error' }]);
  c.close();
  await d.server.close();
});

test('a malformed frame closes with 1007 and a reason naming the ProtocolError', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send('{not json');
  const closed = await c.closed;
  assert.equal(closed.code, CloseCodes.invalidFrame);
  assert.match(closed.reason, /^Invalid frame \(ProtocolError not_json\): frame is not valid JSON/);
  assert.ok(errors.some((e) => e.startsWith('decode ')));
});

test('a V2 frame of the wrong arity closes with 1007 naming wrong_arity', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send('["1","1","room:a","phx_join"]');
  const closed = await c.closed;
  assert.equal(closed.code, 1007);
  assert.match(closed.reason, /wrong_arity/);
});

test('a frame over maxFrameBytes closes with 1009 and the neighbours feel nothing', async () => {
  const neighbour = await RawClient.connect(s.endpoint());
  const c = await RawClient.connect(s.endpoint());
  c.send([null, '1', 'phoenix', 'heartbeat', { pad: 'x'.repeat(2000) }]);
  assert.equal((await c.closed).code, CloseCodes.messageTooBig);
  neighbour.send([null, '2', 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(await neighbour.json(), [null, '2', 'phoenix', 'phx_reply', { response: {}, status: 'ok' }]);
  neighbour.close();
});

test('V1 connections speak the object format and never send join_ref', async () => {
  const c = await RawClient.connect(s.endpoint({ vsn: '1.0.0' }));
  c.send(JSON.stringify({ topic: 'room:v1', event: 'phx_join', payload: {}, ref: '1', join_ref: '1' }));
  assert.equal(await c.next(), '{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:v1"}');
  c.send(JSON.stringify({ topic: 'room:v1', event: 'echo', payload: { a: 1 }, ref: '2' }));
  assert.equal(await c.next(), '{"event":"phx_reply","payload":{"response":{"a":1},"status":"ok"},"ref":"2","topic":"room:v1"}');
  c.close();
});

test('a connection without vsn gets V1, as Phoenix does', async () => {
  const c = await RawClient.connect(`${s.url}/websocket`);
  c.send(JSON.stringify({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '2' }));
  assert.equal(await c.next(), '{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"2","topic":"phoenix"}');
  c.close();
});
