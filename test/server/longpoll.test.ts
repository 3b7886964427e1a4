/**
 * The long-poll endpoint on the wire: one session replayed against ../shared/phoenix-longpoll-transcript.json
 * (recorded from Phoenix 1.7.24) and compared shape for shape, then the session rules (tokens, one waiting
 * poll, idle expiry, draining, limits) in virtual time.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { systemClock } from '../../src/server/clock.ts';
import { ServerCore } from '../../src/server/core.ts';
import { createServer } from '../../src/server/index.ts';
import { attachLongPoll } from '../../src/server/longpoll/endpoint.ts';
import { LongPollSessions } from '../../src/server/longpoll/sessions.ts';
import { SessionTokens } from '../../src/server/longpoll/token.ts';
import { resolveOptions, type ConnectInfo } from '../../src/server/options.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { LongPollPeer, normalize } from '../helpers/longpoll.ts';
import { pollUntil } from '../helpers/poll.ts';
import { RawClient, startServer } from '../helpers/server-fixtures.ts';

interface Exchange {
  title: string;
  request: { method: string; path: string; headers: Record<string, string>; body: string | null };
  response: { status: number; headers: Record<string, string>; body: string };
}
const transcript = JSON.parse(readFileSync(new URL('../../../shared/phoenix-longpoll-transcript.json', import.meta.url), 'utf8')) as { exchanges: Exchange[] };

type Poll = { messages: string[]; status: number; token: string };

/** Starts a request and resolves once the server holds one more timer: it has reached its poll window. */
async function waiting<T>(clock: VirtualClock, request: () => Promise<T>): Promise<{ answer: Promise<T> }> {
  const before = clock.pendingTimers;
  const answer = request();
  await pollUntil(() => clock.pendingTimers > before, 'the poll to wait');
  return { answer };
}

test('a session replays the recorded Phoenix exchanges: same statuses, same bodies, same order within a poll', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, channels: { 'room:*': roomChannel }, connect: ({ params }: ConnectInfo) => params.token === 'good' });
  const { httpUrl } = await s.server.listen();
  let token: string | null = null;
  for (const ex of transcript.exchanges) {
    const path = ex.request.path.replace('<session>', token ?? '');
    const send = () => fetch(httpUrl + path, { method: ex.request.method, headers: ex.request.headers, body: ex.request.body ?? undefined });
    let res: Response;
    if (ex.title.includes('nothing pending')) {
      const { answer } = await waiting(clock, send);
      clock.advance(10_000);
      res = await answer;
    } else res = await send();
    const body = await res.text();
    token ??= (JSON.parse(body) as Poll).token;
    assert.equal(res.status, ex.response.status, ex.title);
    assert.equal(res.headers.get('content-type'), ex.response.headers['content-type'], ex.title);
    const ours = normalize(body, token);
    if (!ex.title.includes('replies and presence')) {
      assert.equal(ours, ex.response.body, ex.title);
      continue;
    }
    // The presence_diff is a broadcast: where it falls among the channel's own frames is a race in Phoenix too.
    // Everything else (the join reply, then presence_state, then the echo reply) keeps its order.
    const theirs = JSON.parse(ex.response.body) as Poll;
    const mine = JSON.parse(ours) as Poll;
    assert.deepEqual([...mine.messages].sort(), [...theirs.messages].sort(), 'the same messages');
    const own = (p: Poll) => p.messages.filter((m) => !m.includes('presence_diff'));
    assert.deepEqual(own(mine), own(theirs), 'the same order');
    assert.deepEqual({ ...mine, messages: [] }, { ...theirs, messages: [] });
  }
  await s.server.close();
});

test('the session token is read from X-Phoenix-Longpoll-Token as well; the connect hook sees X-Phoenix-AuthToken as authToken', async () => {
  const seen: ConnectInfo[] = [];
  const s = await startServer({ channels: { 'room:*': roomChannel }, connect: (info: ConnectInfo) => (seen.push(info), info.authToken === 'bearer-1') });
  const peer = new LongPollPeer((await s.server.listen()).httpUrl);
  assert.equal((await peer.get({ vsn: '2.0.0' })).body, '{"status":403}', 'no authToken: refused');
  const token = await peer.open({ vsn: '2.0.0', token: 'app-param' }, { 'x-phoenix-authtoken': 'bearer-1' });
  assert.equal(seen[1]!.transport, 'longpoll');
  assert.equal(seen[1]!.params.token, 'app-param', "an unsigned ?token= is the app's own param");
  const post = await peer.post({ vsn: '2.0.0' }, '["1","1","room:a","phx_join",{}]', { 'content-type': 'application/x-ndjson', 'x-phoenix-longpoll-token': token });
  assert.equal(post.body, '{"status":200}');
  const poll = JSON.parse((await peer.get({ vsn: '2.0.0', token: 'ignored-when-the-header-is-there' }, { 'x-phoenix-longpoll-token': token })).body) as Poll;
  assert.equal(poll.status, 200);
  assert.match(poll.messages[0]!, /"phx_reply",\{"response":\{"joined":true\},"status":"ok"\}/);
  // A header token that is not ours names no session: gone, and no new session is opened behind the client's back.
  const forged = `${token.slice(0, -2)}xx`;
  assert.equal((await peer.get({ vsn: '2.0.0' }, { 'x-phoenix-longpoll-token': forged })).body, '{"status":410}');
  assert.equal((await peer.post({ token: forged }, '[null,"1","phoenix","heartbeat",{}]')).body, '{"status":410}');
  assert.equal(s.server.connectionCount, 1);
  await s.server.close();
});

test('one poll waits per session: a second GET answers the first at once with an empty 204', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, channels: { 'room:*': roomChannel } });
  const peer = new LongPollPeer((await s.server.listen()).httpUrl);
  const token = await peer.open();
  const { answer: first } = await waiting(clock, () => peer.get({ token }));
  const second = peer.get({ token });
  assert.equal(JSON.parse((await first).body).status, 204);
  await peer.post({ token }, '[null,"7","phoenix","heartbeat",{}]');
  const answer = JSON.parse((await second).body) as Poll;
  assert.deepEqual(answer.messages, ['[null,"7","phoenix","phx_reply",{"response":{},"status":"ok"}]']);
  await s.server.close();
});

test('a session with no poll for longPollIdleMs ends as a dropped socket; a held poll keeps it (and idleTimeoutMs) at bay', async () => {
  const clock = new VirtualClock();
  const closed: Array<{ code: number; transport: string }> = [];
  const s = await startServer({ clock, channels: { 'room:*': roomChannel }, idleTimeoutMs: 3000, longPollIdleMs: 5000, longPollWindowMs: 20_000, sweepIntervalMs: 500 });
  s.server.observe({ connectionClosed: (i) => closed.push({ code: i.code, transport: i.transport }) });
  const { httpUrl, url } = await s.server.listen();
  const peer = new LongPollPeer(httpUrl);
  const watcher = await RawClient.connect(`${url}/websocket?vsn=2.0.0&user=ws`);
  watcher.send(['1', '1', 'room:idle', 'phx_join', {}]);
  for (let i = 0; i < 3; i++) await watcher.json(); // its join reply, presence_state and its own diff
  const token = await peer.open({ vsn: '2.0.0', user: 'lp' });
  await peer.post({ token }, '["1","1","room:idle","phx_join",{}]');
  assert.equal(JSON.parse((await peer.get({ token })).body).status, 200);
  await watcher.json(); // the long-poll client's join diff
  await clock.advanceAsync(0);
  // A held poll for 12 s: past idleTimeoutMs and longPollIdleMs, yet the client is there.
  const { answer: held } = await waiting(clock, () => peer.get({ token }));
  // The WebSocket peer stays by heartbeats; what else it receives meanwhile is kept.
  const received: unknown[][] = [];
  const advance = async (steps: number) => {
    for (let i = 0; i < steps; i++) {
      clock.advance(500);
      if (i % 4 !== 0) continue;
      watcher.send([null, `hb${i}`, 'phoenix', 'heartbeat', {}]);
      let frame: unknown[];
      while ((frame = (await watcher.json()) as unknown[])[1] !== `hb${i}`) received.push(frame);
    }
  };
  await advance(24);
  assert.equal(s.server.connectionCount, 2, 'the held poll kept the session');
  watcher.send(['1', '2', 'room:idle', 'shout', { n: 1 }]);
  assert.match((await held).body, /\\"shout\\"/);
  // Then the client goes away: no request for longPollIdleMs.
  await advance(9);
  assert.deepEqual(closed, [], 'not before longPollIdleMs');
  await advance(3);
  await pollUntil(() => closed.length === 1, 'the session to expire');
  assert.deepEqual(closed, [{ code: 1006, transport: 'longpoll' }]);
  const isLeave = (f: unknown[]) => f[3] === 'presence_diff' && JSON.stringify(f[4]).includes('"leaves":{"lp"');
  while (!received.some(isLeave)) received.push((await watcher.json()) as unknown[]);
  assert.equal((await peer.get({ token })).body, '{"status":410}');
  assert.equal((await peer.post({ token }, '[null,"1","phoenix","heartbeat",{}]')).body, '{"status":410}');
  watcher.close();
  await s.server.close();
});

test('draining: a waiting poll gets 410 (phoenix.js reconnects) and the session counts as drained', async () => {
  const clock = new VirtualClock();
  const s = await startServer({ clock, channels: { 'room:*': roomChannel } });
  const peer = new LongPollPeer((await s.server.listen()).httpUrl);
  const token = await peer.open();
  const { answer: held } = await waiting(clock, () => peer.get({ token }));
  const closing = s.server.close();
  assert.equal((await held).body, '{"status":410}');
  await closing;
  assert.equal(s.server.connectionCount, 0);
});

test('HTTP surface: a plain GET of /websocket is 400, other methods 400, and the sessions count against maxConnections', async () => {
  const s = await startServer({ channels: { 'room:*': roomChannel }, maxConnections: 1 });
  const { httpUrl } = await s.server.listen();
  assert.equal((await fetch(`${httpUrl}/socket/websocket?vsn=2.0.0`)).status, 400);
  assert.equal((await fetch(`${httpUrl}/socket/longpoll`, { method: 'DELETE' })).status, 400);
  assert.equal((await fetch(`${httpUrl}/elsewhere`)).status, 404);
  const peer = new LongPollPeer(httpUrl);
  await peer.open();
  assert.equal((await peer.get({ vsn: '2.0.0' })).body, '{"status":500}', 'over maxConnections: phoenix.js retries later');
  await s.server.close();
});

test('a session that does not poll while messages pile up ends as a slow consumer (4001), by count or by bytes', async () => {
  for (const bound of [{ longPollMaxQueuedMessages: 5 }, { outboundBudgetBytes: 1000, outboundHardCapBytes: 1000 }]) {
    const codes: number[] = [];
    const s = await startServer({ channels: { 'room:*': roomChannel }, ...bound });
    s.server.observe({ connectionClosed: (i) => codes.push(i.code) });
    const peer = new LongPollPeer((await s.server.listen()).httpUrl);
    const token = await peer.open();
    await peer.post({ token }, '["1","1","room:q","phx_join",{}]');
    for (let i = 0; i < 10; i++) await s.server.broadcast('room:q', 'tick', { n: i, pad: 'x'.repeat(100) });
    await pollUntil(() => codes.length === 1, 'the session to end');
    assert.deepEqual(codes, [4001], JSON.stringify(bound));
    // What was queued before the end is still delivered once, then the session is gone.
    assert.equal(JSON.parse((await peer.get({ token })).body).status, 200);
    assert.equal((await peer.get({ token })).body, '{"status":410}');
    await s.server.close();
  }
});

test('with httpServer: the long-poll routes go in front of the app’s own listener, which keeps every other path', async () => {
  const http = createHttp((_req, res) => res.end('app'));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const server = createServer({ httpServer: http, channels: { 'room:*': roomChannel } });
  const { httpUrl } = await server.listen();
  assert.equal(await (await fetch(`${httpUrl}/anything`)).text(), 'app');
  const peer = new LongPollPeer(httpUrl);
  const token = await peer.open();
  assert.equal((await peer.post({ token }, '[null,"1","phoenix","heartbeat",{}]')).body, '{"status":200}');
  assert.equal((await fetch(`${httpUrl}/socket/websocket`)).status, 400);
  await server.close();
  assert.equal(await (await fetch(`${httpUrl}/socket/longpoll`)).text(), 'app', 'close() takes the routes off again');
  await new Promise((resolve) => http.close(resolve));
});

test('a token another node signed (same longPollSecret) goes to the relay with the request; its answer, or 410 for none', async () => {
  const secret = 'a shared secret of at least thirty-two characters';
  const owner = await startServer({ channels: { 'room:*': roomChannel }, longPollSecret: secret, broker: new MemoryBroker({ nodeId: 'node-a' }) });
  const token = await new LongPollPeer((await owner.server.listen()).httpUrl).open();
  // Node b, assembled by hand around a relay that records what it is asked and answers from a script.
  const options = resolveOptions({ channels: {}, longPollSecret: secret });
  const core = new ServerCore(options, new MemoryBroker({ nodeId: 'node-b' }), systemClock);
  const sessions = new LongPollSessions(core, new SessionTokens(secret), { windowMs: 10_000, idleMs: 15_000, maxFramesPerPost: 100, maxQueuedMessages: 100, maxFrameBytes: 1 << 20, sweepIntervalMs: 1000 });
  const forwarded: Array<{ node: string; method: string; body?: string; timeoutMs: number }> = [];
  const answers = [{ body: '{"status":200}' }, null];
  const relay = {
    serve: () => undefined,
    forward: async (node: string, request: { method: string; sessionToken: string; body?: string }, timeoutMs: number) => {
      assert.equal(request.sessionToken, token);
      forwarded.push({ node, method: request.method, ...(request.body === undefined ? {} : { body: request.body }), timeoutMs });
      return answers.shift() ?? null;
    },
    close: () => undefined,
  };
  const http = createHttp();
  const endpoint = attachLongPoll(http, core, sessions, relay, { mount: '/socket', maxBodyBytes: 1000, bodyTimeoutMs: 1000, windowMs: 10_000 });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const atB = new LongPollPeer(`http://127.0.0.1:${(http.address() as { port: number }).port}`);
  assert.equal((await atB.post({ token }, '[null,"1","phoenix","heartbeat",{}]')).body, '{"status":200}');
  assert.equal((await atB.get({ token })).body, '{"status":410}', 'no answer from the owner');
  assert.deepEqual(forwarded, [
    { node: 'node-a', method: 'POST', body: '[null,"1","phoenix","heartbeat",{}]', timeoutMs: 12_000 },
    { node: 'node-a', method: 'GET', timeoutMs: 12_000 },
  ]);
  assert.equal(core.connectionCount, 0, 'node b opened no session of its own');
  endpoint.detach();
  await new Promise((resolve) => http.close(resolve));
  await owner.server.close();
});
