/** The server's side of the wire extension, checked frame by frame with a raw WebSocket client. */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { ok, type ChannelDefinition } from '../../src/server/index.ts';
import type { JsonObject } from '../../src/protocol/frame.ts';
import { RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

type Wire = [string | null, string | null, string, string, JsonObject, JsonObject?];

interface Feed {
  runs: Map<string, number>;
  def: ChannelDefinition;
  /** From now on `slow` pushes wait until `release()`. */
  hold(): void;
  release(): void;
}

function feed(): Feed {
  const runs = new Map<string, number>();
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => {};
  const def: ChannelDefinition = {
    history: { maxMessages: 5 },
    join: () => ok(),
    async handleIn(event, payload) {
      const key = String((payload as JsonObject).k);
      runs.set(key, (runs.get(key) ?? 0) + 1);
      if (event === 'slow') await gate;
      if (event === 'boom') throw new Error('boom');
      if (event === 'quiet') return undefined;
      return ok({ k: key, run: runs.get(key)! });
    },
  };
  return {
    runs,
    def,
    hold: () => (gate = new Promise((r) => (open = r))),
    release: () => open(),
  };
}

async function start(t: TestContext, channels: Record<string, ChannelDefinition>): Promise<Started> {
  const s = await startServer({ channels });
  t.after(() => s.server.close());
  return s;
}

async function client(t: TestContext, s: Started, params: Record<string, string>): Promise<RawClient> {
  const c = await RawClient.connect(s.endpoint(params));
  t.after(() => c.close());
  return c;
}

const next = async (c: RawClient) => (await c.json()) as Wire;

test('opted-in subscribers get positions; a stock V2 subscriber gets byte-identical Phoenix frames', async (t) => {
  const s = await start(t, { 'feed:*': { history: { maxMessages: 10 }, join: () => ok() } });
  const tether = await client(t, s, { tether: '1' });
  const stock = await client(t, s, {});
  tether.send(['1', '1', 'feed:a', 'phx_join', {}]);
  const reply = await next(tether);
  assert.deepEqual(reply.slice(0, 5), ['1', '1', 'feed:a', 'phx_reply', { response: {}, status: 'ok' }]);
  assert.equal(reply[5]?.o, 0, 'a first join learns its starting position');
  assert.equal(typeof reply[5]?.e, 'string');
  stock.send(['1', '1', 'feed:a', 'phx_join', {}]);
  assert.equal(await stock.next(), '["1","1","feed:a","phx_reply",{"response":{},"status":"ok"}]');
  const out: [number, number][] = [];
  s.server.observe({ frameOut: (bytes, frames) => out.push([bytes, frames]) });
  s.server.broadcast('feed:a', 'msg', { n: 1 });
  const positioned = (await tether.next()) as string;
  assert.deepEqual(JSON.parse(positioned), [null, null, 'feed:a', 'msg', { n: 1 }, { o: 1, e: reply[5]!.e }]);
  const plain = await stock.next();
  assert.equal(plain, '[null,null,"feed:a","msg",{"n":1}]');
  assert.deepEqual(out, [[positioned.length + plain.length, 2]], 'frameOut counts each encoding once per recipient');
});

test('a rejoin gets the missed messages after the reply and before live ones, or recovered:false', async (t) => {
  const s = await start(t, { 'feed:*': { history: { maxMessages: 3 }, join: () => ok() } });
  for (let n = 1; n <= 2; n++) s.server.broadcast('feed:a', 'msg', { n });
  const c = await client(t, s, { tether: '1' });
  c.send(['1', '1', 'feed:a', 'phx_join', {}]);
  const first = await next(c);
  const epoch = first[5]!.e as string;
  assert.equal(first[5]!.o, 2);
  for (let n = 3; n <= 4; n++) s.server.broadcast('feed:a', 'msg', { n });
  await next(c);
  await next(c);
  // Rejoin (duplicate join, as after a reconnect) from offset 2: 3 and 4 are replayed, then live 5.
  c.send(['2', '2', 'feed:a', 'phx_join', {}, { since: { o: 2, e: epoch } }]);
  s.server.broadcast('feed:a', 'msg', { n: 5 });
  const frames: Wire[] = [];
  for (let i = 0; i < 5; i++) frames.push(await next(c));
  const rejoinReply = frames.find((f) => f[3] === 'phx_reply')!;
  assert.equal(rejoinReply[5]?.recovered, true);
  assert.equal(rejoinReply[5]?.e, epoch);
  // 5 may be replayed (published before the history read) or live (after it), but comes exactly once.
  const last = rejoinReply[5]?.o as number;
  const after = frames.slice(frames.indexOf(rejoinReply) + 1).filter((f) => f[3] === 'msg');
  assert.deepEqual(after.map((f) => [f[4].n, f[5]?.o]), [[3, 3], [4, 4], [5, 5]]);
  assert.deepEqual(after.map((f) => f[0]), [3, 4, 5].map((n) => (n <= last ? '2' : null)), 'replayed ones are pushes of the new join');
  // Before the rejoin is processed the old instance may still get live 5; the client's tracker drops the repeat.
  // Too far behind for a window of 3, and an unknown epoch.
  for (let n = 6; n <= 10; n++) s.server.broadcast('feed:a', 'msg', { n });
  c.send(['3', '3', 'feed:b', 'phx_join', {}, { since: { o: 1, e: 'nope' } }]);
  let r = await next(c);
  while (r[2] !== 'feed:b') r = await next(c);
  assert.deepEqual([r[5]?.recovered, r[5]?.reason], [false, 'epoch_changed']);
  c.send(['4', '4', 'feed:a', 'phx_join', {}, { since: { o: 4, e: epoch } }]);
  r = await next(c);
  while (r[1] !== '4') r = await next(c);
  assert.deepEqual(r[5], { recovered: false, reason: 'gap_too_large', o: 10, e: epoch });
  assert.equal(await c.silentFor(100), false, 'the old instance is closed');
});

test('a resent push id gets the first reply without running the handler again, even while it runs', async (t) => {
  const f = feed();
  const s = await start(t, { 'work:*': f.def });
  const c = await client(t, s, { tether: '1', tether_cid: 'device-1' });
  c.send(['1', '1', 'work:a', 'phx_join', {}]);
  await next(c);
  c.send(['1', '2', 'work:a', 'do', { k: 'a' }, { id: 'm-1' }]);
  assert.deepEqual((await next(c)).slice(4), [{ response: { k: 'a', run: 1 }, status: 'ok' }]);
  c.send(['1', '3', 'work:a', 'do', { k: 'a' }, { id: 'm-1' }]);
  assert.deepEqual((await next(c)).slice(1), ['3', 'work:a', 'phx_reply', { response: { k: 'a', run: 1 }, status: 'ok' }, { dup: true }]);
  // A new connection of the same client (after a reconnect) is in the same scope.
  const again = await client(t, s, { tether: '1', tether_cid: 'device-1' });
  again.send(['5', '5', 'work:a', 'phx_join', {}]);
  await next(again);
  again.send(['5', '6', 'work:a', 'do', { k: 'a' }, { id: 'm-1' }]);
  assert.deepEqual((await next(again))[4], { response: { k: 'a', run: 1 }, status: 'ok' });
  // A resend while the first run is still in progress waits for it.
  f.hold();
  c.send(['1', '7', 'work:a', 'slow', { k: 'b' }, { id: 'm-2' }]);
  again.send(['5', '8', 'work:a', 'slow', { k: 'b' }, { id: 'm-2' }]);
  assert.equal(await again.silentFor(50), true);
  f.release();
  assert.deepEqual((await next(again)).slice(1, 5), ['8', 'work:a', 'phx_reply', { response: { k: 'b', run: 1 }, status: 'ok' }]);
  assert.deepEqual((await next(c))[4], { response: { k: 'b', run: 1 }, status: 'ok' });
  // The connection dies while the handler runs; the resend on the next connection gets that run's reply.
  f.hold();
  c.send(['1', '9', 'work:a', 'slow', { k: 'c' }, { id: 'm-3' }]);
  await new Promise((r) => setTimeout(r, 20));
  c.close();
  again.send(['5', '10', 'work:a', 'slow', { k: 'c' }, { id: 'm-3' }]);
  assert.equal(await again.silentFor(50), true);
  f.release();
  assert.deepEqual((await next(again)).slice(1), ['10', 'work:a', 'phx_reply', { response: { k: 'c', run: 1 }, status: 'ok' }, { dup: true }]);
  // Another client id is another scope; a push without an id is never de-duplicated.
  const other = await client(t, s, { tether: '1', tether_cid: 'device-2' });
  other.send(['1', '1', 'work:a', 'phx_join', {}]);
  await next(other);
  other.send(['1', '2', 'work:a', 'do', { k: 'a' }, { id: 'm-1' }]);
  assert.equal(((await next(other))[4].response as JsonObject).run, 2);
  other.send(['1', '3', 'work:a', 'do', { k: 'a' }]);
  other.send(['1', '4', 'work:a', 'do', { k: 'a' }]);
  assert.equal(((await next(other))[4].response as JsonObject).run, 3);
  assert.equal(((await next(other))[4].response as JsonObject).run, 4);
  assert.equal(f.runs.get('b'), 1);
  assert.equal(f.runs.get('c'), 1);
});

test('a stock client sending the same meta is not de-duplicated (no opt-in), and bad history options are refused', async (t) => {
  const f = feed();
  const s = await start(t, { 'work:*': f.def });
  const c = await client(t, s, {});
  c.send(['1', '1', 'work:a', 'phx_join', {}]);
  await next(c);
  c.send(['1', '2', 'work:a', 'do', { k: 'z' }, { id: 'm' }]);
  c.send(['1', '3', 'work:a', 'do', { k: 'z' }, { id: 'm' }]);
  await next(c);
  await next(c);
  assert.equal(f.runs.get('z'), 2);
  await assert.rejects(
    async () => startServer({ channels: { 'x:*': { history: {}, join: () => ok() } } }),
    /history needs maxMessages and\/or ttlMs/,
  );
  await assert.rejects(
    async () => startServer({ channels: { 'x:*': { history: { maxMessages: 1 }, intercept: ['a'], join: () => ok() } } }),
    /cannot intercept/,
  );
});

test('the de-duplication window is configurable and validated', async (t) => {
  const f = feed();
  const s = await startServer({ channels: { 'work:*': f.def }, dedup: { maxEntriesPerClient: 1 } });
  t.after(() => s.server.close());
  const c = await client(t, s, { tether: '1', tether_cid: 'd' });
  c.send(['1', '1', 'work:a', 'phx_join', {}]);
  await next(c);
  for (const [ref, id] of [['2', 'm-1'], ['3', 'm-2'], ['4', 'm-1']]) {
    c.send(['1', ref, 'work:a', 'do', { k: 'x' }, { id }]);
    await next(c);
  }
  assert.equal(f.runs.get('x'), 3, 'm-1 was evicted by m-2, so its resend ran again');
  await assert.rejects(async () => startServer({ channels: {}, dedup: { ttlMs: -1 } }), /dedup/);
});

test('a resend of a push that crashed its channel gets channel_crash; of one without a reply, nothing', async (t) => {
  const f = feed();
  const s = await start(t, { 'work:*': f.def });
  const c = await client(t, s, { tether: '1', tether_cid: 'd' });
  c.send(['1', '1', 'work:a', 'phx_join', {}]);
  await next(c);
  c.send(['1', '2', 'work:a', 'boom', { k: 'boom' }, { id: 'm-9' }]);
  assert.deepEqual(await next(c), ['1', '1', 'work:a', 'phx_error', { reason: 'channel_crash' }]);
  c.send(['3', '3', 'work:a', 'phx_join', {}]);
  await next(c);
  c.send(['3', '4', 'work:a', 'boom', { k: 'boom' }, { id: 'm-9' }]);
  assert.deepEqual(await next(c), ['3', '4', 'work:a', 'phx_reply', { response: { reason: 'channel_crash' }, status: 'error' }, { dup: true }]);
  c.send(['3', '5', 'work:a', 'quiet', { k: 'q' }, { id: 'm-10' }]);
  c.send(['3', '6', 'work:a', 'quiet', { k: 'q' }, { id: 'm-10' }]);
  assert.equal(await c.silentFor(100), true);
  assert.deepEqual([f.runs.get('boom'), f.runs.get('q')], [1, 1]);
});

test("a rejoin's reply, its replay and the live frames held meanwhile leave in one write, not one per frame", async (t) => {
  const s = await start(t, { 'feed:*': { history: { maxMessages: 50 }, join: () => ok() } });
  const first = await client(t, s, { tether: '1' });
  first.send(['1', '1', 'feed:a', 'phx_join', {}]);
  const epoch = (await next(first))[5]!.e as string;
  for (let n = 1; n <= 20; n++) s.server.broadcast('feed:a', 'msg', { n });
  const c = await client(t, s, { tether: '1' });
  const socket = (c.ws as unknown as { _socket: Socket })._socket;
  let chunks = 0;
  socket.on('data', () => (chunks += 1));
  c.send(['1', '1', 'feed:a', 'phx_join', {}, { since: { o: 0, e: epoch } }]);
  const frames: Wire[] = [];
  for (let i = 0; i < 21; i++) frames.push(await next(c));
  assert.equal(frames[0][5]?.recovered, true);
  assert.deepEqual(frames.slice(1).map((f) => f[4].n), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(chunks, 1, 'one TCP write carried the reply and all 20 replayed messages');
});
