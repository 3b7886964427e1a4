/** The drain's reconnect hint: in the 1012 close reason of opted-in connections only, with the rest of the drain. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseCodes } from '../../src/protocol/close-codes.ts';
import { DRAIN_NOTICE_EVENT, drainCloseReason, MAX_HINT_MS, parseDrainNotice, parseReconnectHint } from '../../src/protocol/extension.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { RawClient, startServer } from '../helpers/server-fixtures.ts';

const tick = () => new Promise((r) => setTimeout(r, 20));
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await tick();
  assert.ok(check(), `timed out waiting for ${what}`);
}

test('the hint round-trips, fits a close frame, and nothing else parses as one', () => {
  const reason = drainCloseReason({ afterMs: 150, windowMs: 2000 });
  assert.equal(reason, 'server restart; tether-reconnect=150,2000');
  assert.deepEqual(parseReconnectHint(reason), { afterMs: 150, windowMs: 2000 });
  assert.ok(Buffer.byteLength(drainCloseReason({ afterMs: 1e12, windowMs: 1e12 })) <= 123);
  assert.deepEqual(parseReconnectHint('server restart; tether-reconnect=9999999,1'), { afterMs: MAX_HINT_MS, windowMs: 1 }, 'clamped, not trusted');
  for (const other of ['server restart', '', 'tether-reconnect=', 'tether-reconnect=1,', 'tether-reconnect=-1,5', 'tether-reconnect=1,2,3', 'tether-reconnect=1e3,5']) {
    assert.equal(parseReconnectHint(other), null, other);
  }
});

test('close() sends every opted-in client its drain notice at once, then closes in batches; each close says when to come back (after the remaining batches and one step, within the window); stock clients get the plain reason', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, drainBatchSize: 2, drainIntervalMs: 100, drainReconnectWindowMs: 3000 });
  const tether = await Promise.all(Array.from({ length: 3 }, () => RawClient.connect(s.endpoint({ tether: '1' }))));
  const stock = await Promise.all(Array.from({ length: 2 }, () => RawClient.connect(s.endpoint())));
  await until(() => s.server.connectionCount === 5, 'five connections');
  const closing = s.server.close();
  // Before any virtual time passes, even the client whose close comes last has its notice: the whole drain's length.
  const notices = await Promise.all(tether.map(async (c) => (await c.json()) as unknown[]));
  for (const notice of notices) assert.deepEqual(notice, [null, null, 'phoenix', DRAIN_NOTICE_EVENT, { afterMs: 300, windowMs: 3000 }]);
  await until(() => s.server.connectionCount === 3, 'first batch');
  clock.advance(100);
  await until(() => s.server.connectionCount === 1, 'second batch');
  clock.advance(100);
  await until(() => s.server.connectionCount === 0, 'last batch');
  clock.advance(5000);
  await closing;
  // Connections are closed in the order they opened: two, two, then one.
  const hints = await Promise.all(tether.map(async (c, i) => {
    const closed = await c.closed;
    assert.equal(closed.code, CloseCodes.serviceRestart);
    const hint = parseReconnectHint(closed.reason);
    assert.deepEqual(parseDrainNotice(notices[i][4]), { afterMs: 300, windowMs: 3000 });
    return hint;
  }));
  assert.deepEqual(hints, [{ afterMs: 300, windowMs: 3000 }, { afterMs: 300, windowMs: 3000 }, { afterMs: 200, windowMs: 3000 }]);
  for (const c of stock) {
    assert.deepEqual(await c.closed, { code: CloseCodes.serviceRestart, reason: 'server restart' });
    assert.equal(await c.silentFor(0), true, 'no notice frame for a stock client');
  }
});

test('the drain notice reaches opted-in V1 and V2 clients in their own encoding, and frameOut counts each one', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, drainBatchSize: 10, drainIntervalMs: 100, drainReconnectWindowMs: 3000 });
  const out: [number, number][] = [];
  s.server.observe({ frameOut: (bytes, frames) => out.push([bytes, frames]) });
  const v2 = await Promise.all([1, 2].map(() => RawClient.connect(s.endpoint({ tether: '1' }))));
  const v1 = await Promise.all([1, 2].map(() => RawClient.connect(s.endpoint({ tether: '1', vsn: '1.0.0' }))));
  await until(() => s.server.connectionCount === 4, 'four connections');
  const closing = s.server.close();
  await until(() => s.server.connectionCount === 0, 'one batch');
  clock.advance(5000);
  await closing;
  const hint = { afterMs: 100, windowMs: 3000 };
  let bytes = 0;
  const read = async (c: RawClient) => {
    const text = String(await c.next());
    bytes += Buffer.byteLength(text);
    return JSON.parse(text) as unknown;
  };
  for (const c of v2) assert.deepEqual(await read(c), [null, null, 'phoenix', DRAIN_NOTICE_EVENT, hint]);
  for (const c of v1) assert.deepEqual(await read(c), { topic: 'phoenix', event: DRAIN_NOTICE_EVENT, payload: hint, ref: null });
  for (const c of [...v1, ...v2]) assert.equal((await c.closed).code, CloseCodes.serviceRestart);
  assert.deepEqual(out, [[bytes, 4]], 'one report for the batch, with the bytes the clients read');
});

test('a client that leaves on the notice is not counted in a batch: the next batch closes connections still open', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, drainBatchSize: 2, drainIntervalMs: 100 });
  const clients = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(s.endpoint({ tether: '1' }))));
  await until(() => s.server.connectionCount === 6, 'six connections');
  const closing = s.server.close();
  await Promise.all(clients.map((c) => c.json()));
  await until(() => s.server.connectionCount === 4, 'the first batch');
  // Two clients of the second batch had somewhere else to go and left on the notice.
  clients[2].close();
  clients[3].close();
  await until(() => s.server.connectionCount === 2, 'two left on their own');
  clock.advance(100);
  await until(() => s.server.connectionCount === 0, 'the last two closed in the next batch, not one later');
  await closing;
  for (const c of [0, 1, 4, 5]) assert.equal((await clients[c].closed).code, CloseCodes.serviceRestart);
});

test('while draining, HTTP answers end their connection (no keep-alive for the end of the drain to cut)', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, drainBatchSize: 1, drainIntervalMs: 100 });
  const c = [await RawClient.connect(s.endpoint()), await RawClient.connect(s.endpoint())];
  await until(() => s.server.connectionCount === 2, 'two connections');
  const before = await fetch(`http://127.0.0.1:${s.port}/`);
  await before.text();
  assert.notEqual(before.headers.get('connection'), 'close', 'kept alive while serving');
  const closing = s.server.close();
  await until(() => s.server.connectionCount === 1, 'the first batch');
  const during = await fetch(`http://127.0.0.1:${s.port}/`);
  await during.text();
  assert.equal(during.status, 200);
  assert.equal(during.headers.get('connection'), 'close');
  clock.advance(60_000);
  await closing;
  for (const client of c) await client.closed;
});

test('clients that can move (tether_move=1) keep their link until drainHandoverMs, so they open the next one first; one that leaves ends the wait', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, drainBatchSize: 10, drainIntervalMs: 100, drainHandoverMs: 3000 });
  const movers = await Promise.all([1, 2].map(() => RawClient.connect(s.endpoint({ tether: '1', tether_move: '1' }))));
  const stayer = await RawClient.connect(s.endpoint({ tether: '1' }));
  const stock = await RawClient.connect(s.endpoint({ tether_move: '1' }));
  await until(() => s.server.connectionCount === 4, 'four connections');
  let drained = false;
  const closing = s.server.close().then(() => (drained = true));
  for (const c of [...movers, stayer]) assert.equal(((await c.json()) as unknown[])[3], DRAIN_NOTICE_EVENT);
  await until(() => s.server.connectionCount === 2, 'the stayer and the stock client closed at once');
  assert.equal((await stayer.closed).code, CloseCodes.serviceRestart);
  assert.equal((await stock.closed).code, CloseCodes.serviceRestart, 'tether_move without the opt-in is a stock client');
  clock.advance(2900);
  await tick();
  assert.equal(s.server.connectionCount, 2, 'the movers are not closed before the handover time');
  movers[0].close();
  await until(() => s.server.connectionCount === 1, 'a mover left on its own');
  clock.advance(100);
  await until(() => s.server.connectionCount === 0, 'the handover time is up: the last mover is closed');
  assert.equal((await movers[1].closed).code, CloseCodes.serviceRestart);
  clock.advance(5000);
  await closing;
  assert.ok(drained);
});
