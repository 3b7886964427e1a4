/**
 * The long-poll transport against a loopback server that answers as the recorded Phoenix 1.7.24 session does:
 * the session opens on 410, 200 carries messages and 204 none, a POST carries ndjson with binary in base64, an
 * expired session and a refused connect end as the socket expects, and the bounds hold.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Socket, type SocketOptions } from '../../src/client/index.ts';
import { longPollTransport, SESSION_GONE_CODE } from '../../src/client/transport-longpoll.ts';
import type { TransportClose } from '../../src/client/transport.ts';
import { MAX_TIMER_DELAY_MS, systemClock } from '../../src/client/clock.ts';
import { VirtualClock } from '../helpers/clock.ts';
import { pollUntil } from '../helpers/poll.ts';
import { LongPollStub } from './longpoll-stub.ts';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function stub(): Promise<{ stub: LongPollStub; url: string }> {
  const s = new LongPollStub();
  const url = await s.listen();
  cleanup.push(() => s.close());
  return { stub: s, url };
}

function socket(url: string, options: SocketOptions = {}): Socket {
  const s = new Socket(url, { transport: 'longpoll', reconnect: () => 20, page: false, ...options });
  cleanup.push(() => s.disconnect());
  return s;
}

/** A bare transport with recorded events. */
function open(url: string, options: Parameters<typeof longPollTransport>[0] = {}, protocols: string[] = []) {
  const events = { opened: 0, messages: [] as { data: string | Uint8Array; bytes?: number }[], closed: [] as TransportClose[] };
  const transport = longPollTransport(options)(`${url}/websocket?vsn=2.0.0`, protocols, {
    open: () => (events.opened += 1),
    message: (data, bytes) => events.messages.push({ data, bytes }),
    close: (info) => events.closed.push(info),
  });
  cleanup.push(async () => transport.close());
  return { transport, events };
}

test('a session opens on 410, sends in one ndjson POST, and receives replies and binary frames with their sizes', async () => {
  const { stub: s, url } = await stub();
  const { transport, events } = open(url, {}, ['phoenix', 'base64url.bearer.phx.c2VjcsOpdA']);
  await pollUntil(() => events.opened === 1, 'the session to open');
  transport.send('["1","1","room:lp","phx_join",{}]');
  transport.send('["1","2","room:lp","echo",{"hi":1}]');
  transport.send(new Uint8Array([0, 1, 2, 255]));
  assert.ok(transport.bufferedAmount > 0, 'frames wait for the batch');
  await pollUntil(() => events.messages.length === 3, 'two replies and the binary echo');
  assert.equal(s.posts().length, 1, 'frames sent in one task go in one POST');
  const post = s.posts()[0]!;
  assert.equal(post.headers['content-type'], 'application/x-ndjson');
  assert.equal(post.body, '["1","1","room:lp","phx_join",{}]\n["1","2","room:lp","echo",{"hi":1}]\nAAEC/w==');
  assert.deepEqual(events.messages.map((m) => m.data), [
    '["1","1","room:lp","phx_reply",{"response":{},"status":"ok"}]',
    '["1","2","room:lp","phx_reply",{"response":{"hi":1},"status":"ok"}]',
    new Uint8Array([0, 1, 2, 255]),
  ]);
  assert.deepEqual(events.messages.map((m) => m.bytes), events.messages.map((m) => (typeof m.data === 'string' ? Buffer.byteLength(m.data) : m.data.byteLength)));
  assert.equal(transport.bufferedAmount, 0);
  // The connect token goes in X-Phoenix-AuthToken (UTF-8), the session token in the header and last in the query.
  const [first, second] = s.requests;
  assert.equal(first!.headers['x-phoenix-authtoken'], 'secrét');
  assert.equal(first!.headers['x-phoenix-longpoll-token'], undefined);
  assert.match(first!.url, /^\/socket\/longpoll\?vsn=2\.0\.0$/);
  assert.equal(second!.headers['x-phoenix-longpoll-token'], 's1');
  assert.match(second!.url, /^\/socket\/longpoll\?vsn=2\.0\.0&token=s1$/);
  assert.deepEqual(events.closed, []);
});

test('polls that time out empty (204) keep the session; a frame pushed later arrives', async () => {
  const { stub: s, url } = await stub();
  s.windowMs = 30;
  const { events } = open(url);
  await pollUntil(() => s.get().length >= 4, 'a few empty polls');
  s.broadcast('[null,null,"room:lp","news",{"n":1}]');
  await pollUntil(() => events.messages.length === 1, 'the pushed frame');
  assert.deepEqual(events.closed, []);
  assert.equal(s.sessions.size, 1);
});

test('an expired session closes as session_gone after the messages already received', async () => {
  const { stub: s, url } = await stub();
  const { transport, events } = open(url);
  await pollUntil(() => events.opened === 1, 'open');
  s.expireSessions();
  transport.send('[null,"9","phoenix","heartbeat",{}]');
  await pollUntil(() => events.closed.length === 1, 'the close');
  assert.deepEqual(events.closed[0], { code: SESSION_GONE_CODE, reason: 'session_gone', opened: true });
});

test('a refused connect (403 in the body) closes before opening with status 403', async () => {
  const { stub: s, url } = await stub();
  s.requireToken = true;
  const { events } = open(`${url}`);
  await pollUntil(() => events.closed.length === 1, 'the close');
  assert.equal(events.opened, 0);
  assert.equal(events.closed[0]!.status, 403);
  assert.equal(events.closed[0]!.opened, false);
});

test('a proxy error page (HTTP 502, not JSON) is a failed handshake with its status', async () => {
  const { stub: s, url } = await stub();
  s.raw = { status: 502, body: '<html>Bad Gateway</html>' };
  const { events } = open(url);
  await pollUntil(() => events.closed.length === 1, 'the close');
  assert.equal(events.closed[0]!.status, 502);
  assert.equal(events.closed[0]!.opened, false);
});

test('an answer over maxResponseBytes closes with 1009 instead of being read', async () => {
  const { stub: s, url } = await stub();
  s.raw = { status: 200, body: 'x'.repeat(5000) };
  const { events } = open(url, { maxResponseBytes: 1000 });
  await pollUntil(() => events.closed.length === 1, 'the close');
  assert.equal(events.closed[0]!.code, 1009);
  assert.equal(events.closed[0]!.frameTooLarge, true);
});

test('sends queue while a POST is in flight, batches up to maxBatchFrames, and a full queue closes with 1013', async () => {
  const { stub: s, url } = await stub();
  let release!: () => void;
  s.holdPosts = new Promise((resolve) => (release = resolve));
  const { transport, events } = open(url, { maxBatchFrames: 2, maxQueuedFrames: 4, maxQueuedBytes: 200 });
  await pollUntil(() => events.opened === 1, 'open');
  for (let i = 1; i <= 3; i++) transport.send(`[null,"${i}","phoenix","heartbeat",{}]`);
  await pollUntil(() => s.posts().length === 1, 'the first POST');
  assert.equal(s.posts()[0]!.body.split('\n').length, 2, 'at most maxBatchFrames in one POST');
  s.holdPosts = null;
  release();
  await pollUntil(() => events.messages.length === 3, 'all three replies');
  assert.equal(s.posts().length, 2, 'the third frame went in the next POST, after the first was answered');

  // One frame bigger than the byte bound on an empty queue still goes, alone (else its resend would loop).
  const big = `[null,"4","phoenix","heartbeat",{"pad":"${'x'.repeat(300)}"}]`;
  transport.send(big);
  await pollUntil(() => events.messages.length === 4, 'the big frame\'s reply');
  assert.equal(s.posts()[2]!.body, big);

  s.holdPosts = new Promise(() => {});
  for (let i = 5; i <= 9; i++) transport.send(`[null,"${i}","phoenix","heartbeat",{}]`);
  await pollUntil(() => events.closed.length === 1, 'the close');
  assert.equal(events.closed[0]!.code, 1013);
  assert.match(events.closed[0]!.error ?? '', /send queue is full/);
});

test('a request unanswered for requestTimeoutMs (virtual clock) ends the link as 1006', async () => {
  const { stub: s, url } = await stub();
  s.windowMs = 60_000;
  const clock = new VirtualClock();
  const { events } = open(url, { clock, requestTimeoutMs: 20_000 });
  await pollUntil(() => events.opened === 1 && s.get().length === 2, 'the held poll');
  clock.advance(19_999);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(events.closed.length, 0);
  clock.advance(1);
  await pollUntil(() => events.closed.length === 1, 'the close');
  assert.equal(events.closed[0]!.code, 1006);
  assert.match(events.closed[0]!.error ?? '', /no answer to the long-poll GET within 20000 ms/);
});

test('a requestTimeoutMs of 2^31 ms or more does not fire at once on real timers: the delay is clamped', async () => {
  const { stub: s, url } = await stub();
  s.windowMs = 60_000;
  const delays: number[] = [];
  const clock = { ...systemClock, setTimeout: (callback: () => void, ms: number) => (delays.push(ms), setTimeout(callback, ms)) };
  const { events } = open(url, { clock, requestTimeoutMs: 2 ** 31 + 5 });
  await pollUntil(() => events.opened === 1 && s.get().length === 2, 'the held poll');
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(events.closed, []);
  assert.ok(delays.length > 0 && delays.every((ms) => ms === MAX_TIMER_DELAY_MS), `delays given to timers: ${delays.join(', ')}`);
});

test('a Socket on long-poll joins, pushes, pings, and names its transport in stats and history', async () => {
  const { url } = await stub();
  const s = socket(url);
  s.connect();
  const room = s.channel('room:lp');
  const joined = await room.join();
  assert.equal(joined.status, 'ok');
  assert.deepEqual(await room.request('echo', { hi: 1 }), { hi: 1 });
  assert.ok((await s.ping()) >= 0);
  assert.equal(s.stats().transport, 'longpoll');
  const opened = s.transitions.find((t) => t.reason === 'opened');
  assert.equal(opened?.detail.transport, 'longpoll');
});

test('Phoenix 1.7: the session token shadows an app param `token` after the connect; a lost session reconnects with the app\'s', async () => {
  const { stub: s, url } = await stub();
  s.requireToken = true;
  const sock = socket(url, { params: { token: 'good', user: 'lp' } });
  const states: string[] = [];
  sock.on('state', (t) => states.push(`${t.to}:${t.reason}`));
  sock.connect();
  await pollUntil(() => sock.isOpen && s.requests.length >= 2, 'open, and the first poll');
  assert.match(s.requests[0]!.url, /\?token=good&user=lp&.*&vsn=2\.0\.0$/);
  assert.match(s.requests[1]!.url, /\?token=good&user=lp&.*&vsn=2\.0\.0&token=s1$/);
  // The server loses the session (the held poll still ends in its window): the next poll is a fresh connect there
  // with the stale session token as the app's `token`, which the app refuses (403). That is a lost link, not
  // refused credentials: the socket reconnects, and the connect carries `token=good` again.
  s.windowMs = 20;
  s.sessions.clear();
  await pollUntil(() => states.filter((x) => x === 'open:opened').length === 2, 'the second open');
  assert.ok(s.answers.includes('{"status":403}'), 'the stale poll was refused');
  assert.ok(!states.some((x) => x.includes('auth')), states.join(' '));
  assert.equal(s.sessions.size, 1);
  const reconnect = s.get().find((r) => !r.url.includes('token=s1'));
  assert.ok(reconnect, 'a connect without the stale session token');
});

test('close() right after a send still delivers the queued frame, as a WebSocket flushes its buffer, and reports one close', async () => {
  const { stub: s, url } = await stub();
  const { transport, events } = open(url);
  await pollUntil(() => events.opened === 1, 'open');
  transport.send('["1","1","room:lp","phx_leave",{}]');
  transport.close(1000, 'bye');
  await pollUntil(() => s.posts().length === 1 && events.closed.length === 1, 'the POST and the close');
  assert.equal(s.posts()[0]!.body, '["1","1","room:lp","phx_leave",{}]');
  assert.deepEqual(events.closed, [{ code: 1000, reason: 'bye', opened: true }]);
  assert.equal(events.messages.length, 0, 'nothing is delivered after close()');
});
