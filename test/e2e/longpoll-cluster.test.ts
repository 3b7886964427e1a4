/**
 * Long-poll without sticky sessions: two `tether serve --redis` processes sharing one Redis and one
 * `longPollSecret`; one long-poll session (raw HTTP, the wire of ../shared/phoenix-longpoll-transcript.json)
 * sends every request to the other node than the one before, so half of them are relayed through the broker
 * inbox to the node that owns the session. A stock `phoenix` WebSocket client on the other node shares the room.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Socket, type Channel } from 'phoenix';
import { createClient } from 'redis';
import { startServe, type Running } from '../helpers/serve-process.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = process.env.TETHER_SKIP_REDIS === '1' ? `TETHER_SKIP_REDIS=1: no Redis at ${REDIS_URL}, multi-node tests skipped` : undefined;
const NS = `lp${process.pid}x${Date.now().toString(36)}`;
const PREFIX = `tether-test:${NS}:`;
const SECRET = `long-poll-secret-of-this-test-run-${NS}`;
/** A poll with nothing queued answers 204 after this long. */
const WINDOW_MS = 800;

interface PollAnswer {
  status: number;
  token?: string;
  messages?: string[];
}
type Frame = [string | null, string | null, string, string, Record<string, unknown>];

function serveNode(i: number): Promise<Running> {
  return startServe([
    '--redis', REDIS_URL, '--redis-prefix', PREFIX, '--node-id', `${NS}-n${i}`,
    '--long-poll-secret', SECRET, '--long-poll-window-ms', String(WINDOW_MS), '--no-dashboard', '--no-metrics',
  ]);
}

const longPollUrl = (node: Running) => `${node.wsUrl.replace(/^ws/, 'http')}/longpoll`;

async function lpGet(node: Running, query: string): Promise<PollAnswer> {
  const res = await fetch(`${longPollUrl(node)}?${query}`);
  assert.equal(res.status, 200);
  return (await res.json()) as PollAnswer;
}

async function lpPost(node: Running, token: string, frames: Frame[]): Promise<PollAnswer> {
  const res = await fetch(`${longPollUrl(node)}?token=${encodeURIComponent(token)}&vsn=2.0.0`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: frames.map((f) => JSON.stringify(f)).join('\n'),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as PollAnswer;
}

describe('long-poll across two tether serve --redis nodes, requests alternating between them', { skip, timeout: 60_000 }, () => {
  let a: Running;
  let b: Running;
  const sockets: Socket[] = [];
  /** The node for the next request: always the other one. */
  let turn = 0;
  const next = () => (turn++ % 2 === 0 ? b : a);
  let token = '';
  const received: Frame[] = [];

  /** Polls (alternating nodes) until `pred` holds on everything received so far. */
  async function pollUntil(pred: (frames: Frame[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!pred(received)) {
      assert.ok(Date.now() < deadline, `no ${what} within 10 s; received ${JSON.stringify(received)}`);
      const answer = await lpGet(next(), `token=${encodeURIComponent(token)}&vsn=2.0.0`);
      assert.ok(answer.status === 200 || answer.status === 204, `poll answered ${JSON.stringify(answer)}`);
      assert.equal(answer.token, token);
      for (const m of answer.messages ?? []) received.push(JSON.parse(m) as Frame);
    }
  }
  const has = (event: string, test: (f: Frame) => boolean = () => true) => (frames: Frame[]) => frames.some((f) => f[3] === event && test(f));

  before(async () => {
    [a, b] = await Promise.all([serveNode(1), serveNode(2)]);
  });

  after(async () => {
    for (const s of sockets) s.disconnect();
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
    await redis.close();
  });

  it('opens a session on one node and joins, pushes and gets replies through the other', async () => {
    const opened = await lpGet(a, 'user=lp&vsn=2.0.0');
    assert.equal(opened.status, 410);
    assert.equal(typeof opened.token, 'string');
    token = opened.token!;
    turn = 0;
    // Through b: relayed to a, which owns the session.
    assert.deepEqual(await lpPost(next(), token, [['1', '1', 'room:lp', 'phx_join', {}], ['1', '2', 'room:lp', 'echo', { hi: 1 }]]), { status: 200 });
    // The session's own join comes back as a presence_diff through Redis, sometimes after presence_state and the
    // replies: wait for it too, or it would answer the next test's held poll before the push does.
    const ownJoin = has('presence_diff', (x) => Object.hasOwn((x[4] as { joins: object }).joins, 'lp'));
    await pollUntil((f) => has('phx_reply', (x) => x[1] === '1')(f) && has('phx_reply', (x) => x[1] === '2')(f) && has('presence_state')(f) && ownJoin(f), 'join and echo replies');
    assert.deepEqual(received.find((f) => f[3] === 'phx_reply' && f[1] === '1'), ['1', '1', 'room:lp', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
    assert.deepEqual(received.find((f) => f[3] === 'phx_reply' && f[1] === '2'), ['1', '2', 'room:lp', 'phx_reply', { response: { hi: 1 }, status: 'ok' }]);
    assert.ok(Object.hasOwn(received.find((f) => f[3] === 'presence_state')![4], 'lp'), 'the session sees its own presence');
  });

  it('a poll held open on one node is answered by a push sent through the other', async () => {
    const held = lpGet(b, `token=${encodeURIComponent(token)}&vsn=2.0.0`);
    await new Promise((r) => setTimeout(r, 100)); // the poll is waiting on a (nothing queued)
    assert.deepEqual(await lpPost(a, token, [['1', '3', 'room:lp', 'echo', { held: true }]]), { status: 200 });
    const answer = await held;
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.messages!.map((m) => JSON.parse(m) as Frame), [['1', '3', 'room:lp', 'phx_reply', { response: { held: true }, status: 'ok' }]]);
  });

  it('shares the room with a WebSocket client on the other node: presence and broadcasts both ways', async () => {
    const socket = new Socket(b.wsUrl, { params: { user: 'ws' } });
    sockets.push(socket);
    socket.connect();
    const channel: Channel = socket.channel('room:lp', {});
    const shouts: unknown[] = [];
    let state: Record<string, unknown> | null = null;
    channel.on('shout', (p) => {
      shouts.push(p);
    });
    channel.on('presence_state', (p) => {
      state = p as Record<string, unknown>;
    });
    await new Promise<void>((resolve, reject) => {
      channel.join(5000).receive('ok', () => resolve()).receive('error', reject).receive('timeout', () => reject(new Error('join timeout')));
    });
    // The long-poll user, tracked on a, is in the presence b serves.
    const deadline = Date.now() + 5000;
    while (state === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(state !== null && Object.hasOwn(state, 'lp'), `presence_state on b lists lp: ${JSON.stringify(state)}`);
    // And the WebSocket user's join reaches the long-poll session.
    await pollUntil(has('presence_diff', (f) => Object.hasOwn(f[4].joins as object, 'ws')), "ws's presence join");

    channel.push('shout', { from: 'ws', n: 1 });
    await pollUntil(has('shout', (f) => f[4].from === 'ws'), 'the shout from the WebSocket client');
    assert.deepEqual(received.filter((f) => f[3] === 'shout'), [[null, null, 'room:lp', 'shout', { from: 'ws', n: 1 }]]);

    assert.deepEqual(await lpPost(next(), token, [['1', '4', 'room:lp', 'shout', { from: 'lp', n: 2 }]]), { status: 200 });
    const until = Date.now() + 5000;
    while (!shouts.some((s) => (s as { from?: string }).from === 'lp') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(shouts, [{ from: 'ws', n: 1 }, { from: 'lp', n: 2 }]);
    await pollUntil(has('shout', (f) => f[4].from === 'lp'), 'its own shout back');
    assert.equal(received.filter((f) => f[3] === 'shout').length, 2, 'each shout once');
  });

  it('answers 410 on the surviving node once the node that owns the session is gone', async () => {
    process.kill(-a.child.pid!, 'SIGKILL');
    await a.exited;
    const started = Date.now();
    assert.deepEqual(await lpGet(b, `token=${encodeURIComponent(token)}&vsn=2.0.0`), { status: 410 });
    assert.deepEqual(await lpPost(b, token, [[null, '5', 'phoenix', 'heartbeat', {}]]), { status: 410 });
    // Its inbox has no subscriber once Redis has seen the connection close: known at once, not after the poll window.
    assert.ok(Date.now() - started < WINDOW_MS, `410 after ${Date.now() - started} ms`);
    // A new session on the survivor works as before.
    const fresh = await lpGet(b, 'user=lp2&vsn=2.0.0');
    assert.equal(fresh.status, 410);
    assert.notEqual(fresh.token, token);
  });
});
