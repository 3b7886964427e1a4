/** Channel callbacks and what they become on the wire: joins, replies, crashes, intercepts, terminate. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { error, ok, type ChannelDefinition, type ChannelSocket, type LeaveReason, type SocketRef } from '../../src/server/channel.ts';
import { join, RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

const terminated: { topic: string; reason: LeaveReason }[] = [];
const deferred = new Map<string, { socket: ChannelSocket; ref: SocketRef }>();
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

const lab: ChannelDefinition = {
  async join(topic, params) {
    if (params.wait) await delay(Number(params.wait));
    if (params.crash) throw new Error('join exploded');
    if (params.reply) return ok({ user_id: 42 });
    if (params.deny) return error({ reason: 'unauthorized' });
    return undefined;
  },
  afterJoin(socket) {
    socket.push('joined', { status: 'connected' });
  },
  intercept: ['filtered', 'renamed'],
  handleOut(event, payload, socket) {
    if (event === 'renamed') socket.push('renamed_out', { joinRef: socket.joinRef, ...(payload as object) });
    if ((payload as { explode?: boolean }).explode) throw new Error('handleOut exploded');
  },
  handleIn(event, payload, socket) {
    switch (event) {
      case 'ok':
        return ok(payload);
      case 'ok_bare':
        return ok();
      case 'err':
        return error({ reason: 'invalid' });
      case 'noreply':
        return undefined;
      case 'async':
        return delay(Number((payload as { ms: number }).ms)).then(() => ok(payload));
      case 'async_err':
        return delay(5).then(() => error({ reason: 'later' }));
      case 'async_noreply':
        return delay(5).then(() => undefined);
      case 'async_crash':
        return delay(5).then(() => {
          throw new Error('async boom');
        });
      case 'crash':
        throw new Error('boom');
      case 'defer':
        deferred.set(String((payload as { key: string }).key), { socket, ref: socket.socketRef() });
        return undefined;
      case 'broadcast':
        socket.broadcast('news', payload);
        return undefined;
      case 'broadcast_from':
        socket.broadcastFrom('news', payload);
        return undefined;
      case 'bytes':
        return ok(payload);
      default:
        return error({ reason: 'unknown' });
    }
  },
  terminate(reason, socket) {
    terminated.push({ topic: socket.topic, reason });
  },
};

let s: Started;
const left: string[] = [];
before(async () => {
  s = await startServer({ channels: { 'lab:*': lab } });
  s.server.observe({ channelLeft: (i) => left.push(`${i.topic}:${i.reason}`) });
});
after(() => s.server.close());

async function joined(topic: string, ref = '3', params: object = {}): Promise<RawClient> {
  const c = await RawClient.connect(s.endpoint());
  assert.deepEqual(await join(c, topic, ref, params), [ref, ref, topic, 'phx_reply', { response: {}, status: 'ok' }]);
  assert.deepEqual(await c.json(), [ref, null, topic, 'joined', { status: 'connected' }]);
  return c;
}

test('join: ok with reply, error, join crashed (async and sync paths)', async () => {
  const c = await RawClient.connect(s.endpoint());
  assert.deepEqual(await join(c, 'lab:r', '3', { reply: true }), ['3', '3', 'lab:r', 'phx_reply', { response: { user_id: 42 }, status: 'ok' }]);
  assert.deepEqual(await c.json(), ['3', null, 'lab:r', 'joined', { status: 'connected' }]);
  assert.deepEqual(await join(c, 'lab:secret', '4', { deny: true }), ['4', '4', 'lab:secret', 'phx_reply', { response: { reason: 'unauthorized' }, status: 'error' }]);
  assert.deepEqual(await join(c, 'lab:c', '12', { crash: true }), ['12', '12', 'lab:c', 'phx_reply', { response: { reason: 'join crashed' }, status: 'error' }]);
  c.close();
});

test('handleIn: reply ok (with and without response), error, and noreply', async () => {
  const c = await joined('lab:h');
  c.send(['3', '5', 'lab:h', 'ok', { body: 'hi' }]);
  assert.deepEqual(await c.json(), ['3', '5', 'lab:h', 'phx_reply', { response: { body: 'hi' }, status: 'ok' }]);
  c.send(['3', '6', 'lab:h', 'ok_bare', {}]);
  assert.deepEqual(await c.json(), ['3', '6', 'lab:h', 'phx_reply', { response: {}, status: 'ok' }]);
  c.send(['3', '7', 'lab:h', 'err', {}]);
  assert.deepEqual(await c.json(), ['3', '7', 'lab:h', 'phx_reply', { response: { reason: 'invalid' }, status: 'error' }]);
  c.send(['3', '8', 'lab:h', 'noreply', {}]);
  assert.ok(await c.silentFor(100));
  c.close();
});

test('async handlers keep per-channel order: a slow reply holds the next message', async () => {
  const c = await joined('lab:o');
  c.send(['3', '5', 'lab:o', 'async', { ms: 60 }]);
  c.send(['3', '6', 'lab:o', 'ok', { n: 2 }]);
  assert.deepEqual(await c.json(), ['3', '5', 'lab:o', 'phx_reply', { response: { ms: 60 }, status: 'ok' }]);
  assert.deepEqual(await c.json(), ['3', '6', 'lab:o', 'phx_reply', { response: { n: 2 }, status: 'ok' }]);
  c.close();
});

test('messages sent during a slow join wait for it and are then handled', async () => {
  const c = await RawClient.connect(s.endpoint());
  c.send(['3', '3', 'lab:slow', 'phx_join', { wait: 50 }]);
  c.send(['3', '4', 'lab:slow', 'ok', { after: 'join' }]);
  assert.deepEqual(await c.json(), ['3', '3', 'lab:slow', 'phx_reply', { response: {}, status: 'ok' }]);
  assert.deepEqual(await c.json(), ['3', null, 'lab:slow', 'joined', { status: 'connected' }]);
  assert.deepEqual(await c.json(), ['3', '4', 'lab:slow', 'phx_reply', { response: { after: 'join' }, status: 'ok' }]);
  c.close();
});

test('async handlers reply error or nothing just like sync ones', async () => {
  const c = await joined('lab:ae');
  c.send(['3', '5', 'lab:ae', 'async_noreply', {}]);
  c.send(['3', '6', 'lab:ae', 'async_err', {}]);
  assert.deepEqual(await c.json(), ['3', '6', 'lab:ae', 'phx_reply', { response: { reason: 'later' }, status: 'error' }]);
  c.close();
});

test('deferred reply through socketRef + reply', async () => {
  const c = await joined('lab:def');
  c.send(['3', '9', 'lab:def', 'defer', { key: 'k1' }]);
  assert.ok(await c.silentFor(50));
  const { socket, ref } = deferred.get('k1')!;
  socket.reply(ref, ok({ later: true }));
  assert.deepEqual(await c.json(), ['3', '9', 'lab:def', 'phx_reply', { response: { later: true }, status: 'ok' }]);
  assert.throws(() => socket.socketRef(), /only available while handleIn runs/);
  c.close();
});

test('a throwing handler: phx_error channel_crash, no reply, terminate(crash); the connection and its other channels live on', async () => {
  const c = await joined('lab:x');
  assert.deepEqual(await join(c, 'lab:y', '4'), ['4', '4', 'lab:y', 'phx_reply', { response: {}, status: 'ok' }]);
  await c.json();
  c.send(['3', '5', 'lab:x', 'crash', {}]);
  assert.deepEqual(await c.json(), ['3', '3', 'lab:x', 'phx_error', { reason: 'channel_crash' }]);
  assert.ok(terminated.some((t) => t.topic === 'lab:x' && t.reason === 'crash'));
  c.send(['4', '6', 'lab:y', 'ok', { alive: true }]);
  assert.deepEqual(await c.json(), ['4', '6', 'lab:y', 'phx_reply', { response: { alive: true }, status: 'ok' }]);
  c.send(['3', '7', 'lab:x', 'ok', {}]);
  assert.deepEqual(await c.json(), [null, '7', 'lab:x', 'phx_reply', { response: { reason: 'unmatched topic' }, status: 'error' }]);
  c.send(['4', '8', 'lab:y', 'async_crash', {}]);
  assert.deepEqual(await c.json(), ['4', '4', 'lab:y', 'phx_error', { reason: 'channel_crash' }]);
  c.close();
});

test('broadcast reaches every subscriber with null refs; broadcastFrom skips the sender', async () => {
  const a = await joined('lab:b');
  const b = await joined('lab:b', '7');
  a.send(['3', '5', 'lab:b', 'broadcast', { n: 1 }]);
  assert.deepEqual(await a.json(), [null, null, 'lab:b', 'news', { n: 1 }]);
  assert.deepEqual(await b.json(), [null, null, 'lab:b', 'news', { n: 1 }]);
  a.send(['3', '6', 'lab:b', 'broadcast_from', { n: 2 }]);
  assert.deepEqual(await b.json(), [null, null, 'lab:b', 'news', { n: 2 }]);
  assert.ok(await a.silentFor(100), 'the sender must not get its own broadcastFrom');
  s.server.broadcast('lab:b', 'news', { n: 3 });
  assert.deepEqual(await a.json(), [null, null, 'lab:b', 'news', { n: 3 }]);
  a.close();
  b.close();
});

test('intercepted events go to handleOut, whose push carries the current join_ref; a throwing handleOut crashes that channel', async () => {
  const c = await joined('lab:i');
  c.send(['13', '13', 'lab:i', 'phx_join', {}]);
  assert.deepEqual(await c.json(), ['13', '13', 'lab:i', 'phx_reply', { response: {}, status: 'ok' }]);
  assert.deepEqual(await c.json(), ['3', '3', 'lab:i', 'phx_close', {}]);
  await c.json();
  s.server.broadcast('lab:i', 'filtered', { hidden: true });
  s.server.broadcast('lab:i', 'renamed', { v: 1 });
  assert.deepEqual(await c.json(), ['13', null, 'lab:i', 'renamed_out', { joinRef: '13', v: 1 }]);
  s.server.broadcast('lab:i', 'filtered', { explode: true });
  assert.deepEqual(await c.json(), ['13', '13', 'lab:i', 'phx_error', { reason: 'channel_crash' }]);
  c.close();
});

test('binary payloads: a binary push gets a binary reply (kind 1)', async () => {
  const c = await joined('lab:bin', '11');
  // kind 0, join_ref "11", ref "2", topic "lab:bin", event "bytes", payload 01 02
  const topic = Buffer.from('lab:bin');
  const frame = Buffer.concat([Buffer.from([0, 2, 1, topic.length, 5]), Buffer.from('112'), topic, Buffer.from('bytes'), Buffer.from([1, 2])]);
  c.send(new Uint8Array(frame));
  const reply = (await c.next()) as Buffer;
  assert.ok(Buffer.isBuffer(reply));
  assert.equal(reply.toString('hex'), Buffer.concat([Buffer.from([1, 2, 1, topic.length, 2]), Buffer.from('112'), topic, Buffer.from('ok'), Buffer.from([1, 2])]).toString('hex'));
  c.close();
});

test('terminate runs with leave, duplicate_join and close, and channelLeft reports the same reasons', async () => {
  const c = await joined('lab:t1');
  assert.deepEqual(await join(c, 'lab:t2', '4'), ['4', '4', 'lab:t2', 'phx_reply', { response: {}, status: 'ok' }]);
  await c.json();
  c.send(['3', '5', 'lab:t1', 'phx_leave', {}]);
  await c.json();
  await c.json();
  c.send(['9', '9', 'lab:t2', 'phx_join', {}]);
  await c.json();
  await c.json();
  c.close();
  await c.closed;
  for (let i = 0; i < 50 && !terminated.some((t) => t.topic === 'lab:t2' && t.reason === 'close'); i++) await delay(10);
  const reasons = terminated.filter((t) => t.topic.startsWith('lab:t')).map((t) => `${t.topic}:${t.reason}`);
  assert.deepEqual(reasons, ['lab:t1:leave', 'lab:t2:duplicate_join', 'lab:t2:close']);
  assert.deepEqual(left.filter((l) => l.startsWith('lab:t')), reasons);
});

test('server.disconnect(id) closes every socket of that id with 1001 and channels end with "disconnect"', async () => {
  const d = await startServer({ channels: { 'lab:*': lab }, connect: ({ params }) => ({ id: `user:${params.user}` }) });
  const a = await RawClient.connect(d.endpoint({ user: 'ann' }));
  const b = await RawClient.connect(d.endpoint({ user: 'ann' }));
  const other = await RawClient.connect(d.endpoint({ user: 'bob' }));
  await join(a, 'lab:dc', '1');
  assert.equal(d.server.disconnect('user:ann'), 2);
  assert.equal((await a.closed).code, 1001);
  assert.equal((await b.closed).code, 1001);
  other.send([null, '1', 'phoenix', 'heartbeat', {}]);
  assert.equal(((await other.json()) as unknown[])[3], 'phx_reply');
  assert.ok(terminated.some((t) => t.topic === 'lab:dc' && t.reason === 'disconnect'));
  other.close();
  await d.server.close();
});

