/**
 * The inbound backlog: frames for a channel whose join or async handler is still running wait in a queue
 * bounded by count and bytes. Past it each frame is refused with an error reply; a client that keeps sending
 * one more backlog's worth of refused frames is closed with 4003, and its neighbours feel nothing.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { CloseCodes } from '../../src/protocol/close-codes.ts';
import { ok, type ChannelDefinition, type ServerOptions } from '../../src/server/index.ts';
import { RawClient, startServer, type Started } from '../helpers/server-fixtures.ts';

type Wire = [string | null, string | null, string, string, Record<string, unknown>];

/** A channel whose join waits for `openJoin()` and whose `slow` pushes wait for `release()`. */
function gated() {
  let joinGate!: () => void;
  let pushGate!: () => void;
  const joined = new Promise<void>((r) => (joinGate = r));
  let pushes = new Promise<void>((r) => (pushGate = r));
  const handled: number[] = [];
  const def: ChannelDefinition = {
    async join(topic) {
      if (topic === 'gate:slow') await joined;
      return ok();
    },
    async handleIn(event, payload) {
      if (event === 'slow') await pushes;
      handled.push((payload as { n: number }).n);
      return ok({ n: (payload as { n: number }).n });
    },
  };
  return {
    def,
    handled,
    openJoin: () => joinGate(),
    release: () => {
      pushGate();
      pushes = new Promise<void>((r) => (pushGate = r));
    },
  };
}

async function start(t: TestContext, channels: Record<string, ChannelDefinition>, options: Partial<ServerOptions>): Promise<Started> {
  const s = await startServer({ channels, ...options });
  t.after(() => s.server.close());
  return s;
}

async function client(t: TestContext, s: Started): Promise<RawClient> {
  const c = await RawClient.connect(s.endpoint());
  t.after(() => c.close());
  return c;
}

test('behind a pending join: the count bound refuses the next frame with an error reply, queued ones run in order', async (t) => {
  const g = gated();
  const s = await start(t, { 'gate:*': g.def }, { inboundBacklogMessages: 3 });
  const c = await client(t, s);
  c.send(['1', '1', 'gate:slow', 'phx_join', {}]);
  for (let n = 1; n <= 4; n++) c.send(['1', String(10 + n), 'gate:slow', 'fast', { n }]);
  const refused = (await c.json()) as Wire;
  assert.deepEqual(refused, ['1', '14', 'gate:slow', 'phx_reply', { response: { reason: 'inbound backlog full' }, status: 'error' }]);
  g.openJoin();
  const after: Wire[] = [];
  for (let i = 0; i < 4; i++) after.push((await c.json()) as Wire);
  assert.deepEqual(after.map((f) => f[1]), ['1', '11', '12', '13']);
  assert.deepEqual(g.handled, [1, 2, 3]);
});

test('behind an async handler: the byte bound refuses what does not fit, and room frees as the queue drains', async (t) => {
  const g = gated();
  const s = await start(t, { 'gate:*': g.def }, { inboundBacklogBytes: 2000 });
  const c = await client(t, s);
  c.send(['1', '1', 'gate:x', 'phx_join', {}]);
  await c.json();
  c.send(['1', '2', 'gate:x', 'slow', { n: 0 }]);
  const pad = 'p'.repeat(800);
  for (let n = 1; n <= 3; n++) c.send(['1', String(2 + n), 'gate:x', 'fast', { n, pad }]);
  const refused = (await c.json()) as Wire;
  assert.deepEqual([refused[1], refused[4]], ['5', { response: { reason: 'inbound backlog full' }, status: 'error' }]);
  g.release();
  const replies: Wire[] = [];
  for (let i = 0; i < 3; i++) replies.push((await c.json()) as Wire);
  assert.deepEqual(replies.map((f) => f[1]), ['2', '3', '4']);
  c.send(['1', '9', 'gate:x', 'fast', { n: 9, pad }]);
  assert.deepEqual(((await c.json()) as Wire)[4], { response: { n: 9 }, status: 'ok' });
});

test('a client that keeps sending past a full backlog is closed with 4003; a neighbour keeps working', async (t) => {
  const g = gated();
  const s = await start(t, { 'gate:*': g.def }, { inboundBacklogMessages: 5 });
  const c = await client(t, s);
  const neighbour = await client(t, s);
  const seen: boolean[] = [];
  s.server.observe({ inboundBacklogFull: ({ topic, closed }) => topic === 'gate:slow' && seen.push(closed) });
  neighbour.send(['1', '1', 'gate:n', 'phx_join', {}]);
  await neighbour.json();
  c.send(['1', '1', 'gate:slow', 'phx_join', {}]);
  // 5 queued, then 5 refused with a reply each, and the 6th refusal in a row closes.
  for (let n = 1; n <= 11; n++) c.send(['1', String(10 + n), 'gate:slow', 'fast', { n }]);
  const { code } = await c.closed;
  assert.equal(code, CloseCodes.inboundBacklog);
  assert.equal(code, 4003);
  assert.deepEqual(seen, [false, false, false, false, false, true], 'each refusal is observed; the last one closed');
  neighbour.send(['1', '2', 'gate:n', 'fast', { n: 1 }]);
  assert.deepEqual(((await neighbour.json()) as Wire)[4], { response: { n: 1 }, status: 'ok' });
  g.openJoin();
});

test('refusals in a row reset once a frame fits again', async (t) => {
  const g = gated();
  const s = await start(t, { 'gate:*': g.def }, { inboundBacklogMessages: 2 });
  const c = await client(t, s);
  c.send(['1', '1', 'gate:x', 'phx_join', {}]);
  await c.json();
  for (let round = 0; round < 3; round++) {
    c.send(['1', `s${round}`, 'gate:x', 'slow', { n: round }]);
    for (let n = 0; n < 4; n++) c.send(['1', `f${round}.${n}`, 'gate:x', 'fast', { n }]);
    const refused = [(await c.json()) as Wire, (await c.json()) as Wire];
    assert.deepEqual(refused.map((f) => f[1]), [`f${round}.2`, `f${round}.3`]);
    g.release();
    for (let i = 0; i < 3; i++) await c.json();
  }
  assert.equal(s.server.connectionCount, 1, 'two refusals per round never reached the close');
});
