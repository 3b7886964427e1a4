/**
 * The client Presence helper against the stock phoenix.js Presence: the same frame sequences go to both
 * (each gets its own parsed copy, as each would from its own socket) and after every frame the lists, the
 * onJoin/onLeave/onSync calls and their arguments must be identical. Then a live run against our server.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Presence as PhoenixPresence } from 'phoenix';
import { Presence, Socket, type Channel, type PresenceChannel, type PresenceDiff, type PresenceEntry } from '../../src/client/index.ts';
import { startRoomServer } from './live.ts';
import { pollUntil as waitFor } from '../helpers/poll.ts';

/** One event the server sends to the topic, and the channel's join_ref at that moment. */
type Step = { joinRef: string; event: 'presence_state' | 'presence_diff'; payload: string };

/** A channel seam both helpers can sit on: it delivers frames and reports the join_ref, nothing else. */
class FrameFeed {
  joinRef: string | null = null;
  readonly #handlers = new Map<string, ((payload: unknown) => void)[]>();
  on(event: string, callback: (payload: never) => void): () => void {
    const list = this.#handlers.get(event) ?? [];
    list.push(callback as (payload: unknown) => void);
    this.#handlers.set(event, list);
    return () => list.splice(list.indexOf(callback as (payload: unknown) => void), 1);
  }
  deliver(step: Step): void {
    this.joinRef = step.joinRef;
    // A fresh parse per receiver: phoenix.js mutates what it is given.
    for (const handler of this.#handlers.get(step.event) ?? []) handler(JSON.parse(step.payload));
  }
}

/** Builds JSON with Object.fromEntries so keys like __proto__ become own keys, as a wire parse makes them. */
const meta = (ref: string, extra: Record<string, unknown> = {}) => ({ ...extra, phx_ref: ref });
const entries = (keys: [string, object[]][]) => Object.fromEntries(keys.map(([k, metas]) => [k, { metas }]));
const state = (joinRef: string, keys: [string, object[]][]): Step => ({ joinRef, event: 'presence_state', payload: JSON.stringify(entries(keys)) });
const diff = (joinRef: string, joins: [string, object[]][], leaves: [string, object[]][] = []): Step => ({
  joinRef,
  event: 'presence_diff',
  payload: JSON.stringify({ joins: entries(joins), leaves: entries(leaves) }),
});

type Recordable = { onJoin(cb: never): void; onLeave(cb: never): void; onSync(cb: () => void): void; list(): unknown[] };

/** Logs every callback with its arguments and what list() shows at that moment. */
function record(p: Recordable, log: string[]): void {
  const json = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(v));
  p.onJoin(((key: string, cur: unknown, joined: unknown) => log.push(`join ${key} ${json(cur)} ${json(joined)} seeing ${json(p.list())}`)) as never);
  p.onLeave(((key: string, cur: unknown, left: unknown) => log.push(`leave ${key} ${json(cur)} ${json(left)} seeing ${json(p.list())}`)) as never);
  p.onSync(() => log.push(`sync seeing ${json(p.list())}`));
}

/** Runs both helpers over `steps`, comparing after each step; returns our final list for extra checks. */
function compare(steps: Step[]): PresenceEntry[] {
  const feed = new FrameFeed();
  const ours = new Presence(feed);
  const theirs = new PhoenixPresence({ on: (e: string, cb: (p: never) => void) => feed.on(e, cb), joinRef: () => feed.joinRef } as never);
  const ourLog: string[] = [];
  const theirLog: string[] = [];
  record(ours, ourLog);
  record(theirs as never, theirLog);
  const by = (key: string, entry: { metas: { phx_ref: string }[] }) => `${key}:${entry.metas.map((m) => m.phx_ref).join(',')}`;
  steps.forEach((step, i) => {
    feed.deliver(step);
    assert.deepEqual(ourLog, theirLog, `callbacks after step ${i}`);
    assert.equal(JSON.stringify(ours.list()), JSON.stringify(theirs.list()), `list() after step ${i}`);
    assert.deepEqual(ours.list(by), theirs.list(by as never), `list(by) after step ${i}`);
    assert.equal(ours.inPendingSyncState(), theirs.inPendingSyncState(), `pending after step ${i}`);
  });
  assert.ok(theirLog.length > 0, 'the sequence exercised the callbacks');
  return ours.list();
}

test('joins, leaves and an update (phx_ref_prev) give the same lists and callbacks as phoenix.js', () => {
  compare([
    state('1', [['alice', [meta('a1', { status: 'away' })]], ['bob', [meta('b1')]]]),
    diff('1', [['carol', [meta('c1')]]]),
    // An update: the new meta joins and the old one leaves in the same diff.
    diff('1', [['alice', [meta('a2', { status: 'here', phx_ref_prev: 'a1' })]]], [['alice', [meta('a1', { status: 'away' })]]]),
    diff('1', [], [['bob', [meta('b1')]]]),
    diff('1', [], [['nobody', [meta('n1')]]]),
    diff('1', [], [['carol', [meta('zz')]]]),
  ]);
});

test('one key in several tabs: the key stays until its last meta leaves', () => {
  const final = compare([
    state('1', [['alice', [meta('t1', { tab: 1 })]]]),
    diff('1', [['alice', [meta('t2', { tab: 2 })]]]),
    diff('1', [['alice', [meta('t3', { tab: 3 })]]]),
    diff('1', [], [['alice', [meta('t2', { tab: 2 })]]]),
    diff('1', [['alice', [meta('t1', { tab: 1 })]]]),
    diff('1', [], [['alice', [meta('t1', { tab: 1 })]]]),
  ]);
  assert.deepEqual(final.map((e) => e.metas.map((m) => m.phx_ref)), [['t3']]);
});

test('diffs before the state and after a rejoin are held until the state of the current join', () => {
  compare([
    diff('1', [['early', [meta('e1')]]]),
    state('1', [['alice', [meta('a1')]], ['bob', [meta('b1')]]]),
    diff('1', [['carol', [meta('c1')]]]),
    // Rejoined (a new join_ref): diffs wait for the new state, which drops bob and gives alice a new tab.
    diff('5', [['dave', [meta('d1')]]]),
    diff('5', [], [['carol', [meta('c1')]]]),
    state('5', [['alice', [meta('a1'), meta('a9')]], ['carol', [meta('c1')]], ['dave', [meta('d1')]]]),
    diff('5', [], [['alice', [meta('a1')]]]),
  ]);
});

test('presence keys are data: __proto__, constructor and integer-like keys are listed in phoenix.js order', () => {
  const final = compare([
    state('1', [['10', [meta('x10')]], ['__proto__', [meta('p1')]], ['constructor', [meta('k1')]], ['2', [meta('x2')]]]),
    diff('1', [['toString', [meta('s1')]], ['1', [meta('x1')]], ['hasOwnProperty', [meta('h1')]]], [['constructor', [meta('k1')]]]),
    diff('1', [['__proto__', [meta('p2')]]], [['__proto__', [meta('p1')]]]),
  ]);
  assert.equal(Object.getPrototypeOf(final[0]), Object.prototype, 'entries are plain data');
  const p = new Presence(new FrameFeed());
  assert.deepEqual(p.list(), []);
  assert.equal(Object.getPrototypeOf(p.state), null);
});

test('the static API matches phoenix.js and leaves its arguments untouched', () => {
  const current = JSON.parse(JSON.stringify(entries([['alice', [meta('a1')]], ['bob', [meta('b1')]]])));
  const incoming = JSON.parse(JSON.stringify(entries([['alice', [meta('a1'), meta('a2')]], ['carol', [meta('c1')]]])));
  const before = JSON.stringify([current, incoming]);
  const ours = Presence.syncState(current, incoming);
  const theirs = PhoenixPresence.syncState(JSON.parse(JSON.stringify(current)), JSON.parse(JSON.stringify(incoming)));
  assert.equal(JSON.stringify(ours), JSON.stringify(theirs));
  assert.equal(JSON.stringify([current, incoming]), before, 'inputs unchanged');
  const d = { joins: entries([['dave', [meta('d1')]]]), leaves: entries([['alice', [meta('a1')]]]) } as unknown as PresenceDiff;
  assert.equal(JSON.stringify(Presence.syncDiff(ours, d)), JSON.stringify(PhoenixPresence.syncDiff(theirs, JSON.parse(JSON.stringify(d)))));
  assert.deepEqual(Presence.list(ours, (k) => k), ['alice', 'carol']);
});

test('malformed presence payloads are skipped entry by entry, never thrown on', () => {
  const feed = new FrameFeed();
  const p = new Presence(feed);
  const raw = (event: Step['event'], payload: unknown): Step => ({ joinRef: '1', event, payload: JSON.stringify(payload) });
  feed.deliver(raw('presence_state', { ok: { metas: [meta('o1')] }, bad: { metas: 'x' }, noref: { metas: [{}] }, nul: null }));
  feed.deliver(raw('presence_diff', null));
  feed.deliver(raw('presence_diff', { joins: [1, 2], leaves: { ok: 5 } }));
  feed.deliver(raw('presence_diff', { joins: { two: { metas: [meta('t1'), 7] } } }));
  assert.deepEqual(p.list((k, e) => `${k}:${e.metas.length}`), ['ok:1']);
});

test('held diffs are bounded: past maxPendingDiffs the oldest is dropped and counted', () => {
  const feed = new FrameFeed();
  const p = new Presence(feed, { maxPendingDiffs: 2 });
  for (const name of ['a', 'b', 'c']) feed.deliver(diff('1', [[name, [meta(name)]]]));
  assert.equal(p.droppedDiffs, 1);
  feed.deliver(state('1', []));
  assert.deepEqual(p.list((k) => k), ['b', 'c']);
});

test('subscribe() runs beside onSync, the state object changes on every sync, dispose() stops both', () => {
  const feed = new FrameFeed();
  const p = new Presence(feed);
  let syncs = 0;
  let notified = 0;
  p.onSync(() => syncs++);
  const off = p.subscribe(() => notified++);
  const s0 = p.state;
  feed.deliver(state('1', [['a', [meta('a')]]]));
  const s1 = p.state;
  feed.deliver(diff('1', [['b', [meta('b')]]]));
  assert.notEqual(s0, s1);
  assert.notEqual(s1, p.state);
  assert.deepEqual([syncs, notified], [2, 2]);
  off();
  feed.deliver(diff('1', [['c', [meta('c')]]]));
  assert.deepEqual([syncs, notified], [3, 2]);
  p.dispose();
  feed.deliver(diff('1', [['d', [meta('d')]]]));
  assert.equal(syncs, 3);
});

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('live: a typed Channel feeds Presence; joins, tabs, leaves and a rejoin after a server restart', async () => {
  let started = await startRoomServer();
  const { port } = started;
  cleanups.push(() => started.server.close());
  const sockets: Socket[] = [];
  const open = (user: string) => {
    const socket = new Socket(`ws://127.0.0.1:${port}/socket`, { reconnect: () => 30, params: { user } });
    sockets.push(socket);
    cleanups.push(() => socket.disconnect());
    socket.connect();
    return socket;
  };
  type RoomEvents = { echo: { n: number }; presence_state: object; presence_diff: object };
  const room: Channel<RoomEvents> = open('alice').channel<RoomEvents>('room:live');
  const channelFits: PresenceChannel = room;
  const presence = new Presence(channelFits);
  const users = () => presence.list((key, e) => `${key}x${e.metas.length}`).sort().join(' ');
  await room.join();
  await waitFor(() => users() === 'alicex1', 'alice listed');
  const bobTab1 = open('bob').channel('room:live');
  const bobTab2 = open('bob').channel('room:live');
  await Promise.all([bobTab1.join(), bobTab2.join()]);
  await waitFor(() => users() === 'alicex1 bobx2', 'bob in two tabs');
  await bobTab1.leave();
  await waitFor(() => users() === 'alicex1 bobx1', 'one bob tab left');
  const joinRef = room.joinRef;
  await started.server.close();
  started = await startRoomServer({ port });
  await waitFor(() => room.state === 'joined' && room.joinRef !== joinRef && !presence.inPendingSyncState() && users() === 'alicex1 bobx1', 'rejoined with the state of the new join');
});
