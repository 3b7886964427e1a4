/** `tether connect` against a real server on loopback: scripted exit codes, JSON lines, piped commands. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ExitCodes, explainClose, parseExitAfter, parseJoin, parsePush, runConnect, normalizeEndpoint, type ConnectOptions } from '../../src/cli/connect.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { createServer, type TetherServer } from '../../src/server/server.ts';

let server: TetherServer;
let url: string;

before(async () => {
  server = createServer({ port: 0, channels: { 'room:*': roomChannel } });
  ({ url } = await server.listen());
});
after(() => server.close());

function options(overrides: Partial<ConnectOptions>): ConnectOptions {
  return { param: [], vsn: '2.0.0', join: [], push: [], timeout: 5000, replyTimeout: 5000, heartbeat: 5000, json: true, color: false, ...overrides };
}

/** Runs a session; `lines` are written to its stdin (then closed) when given. */
async function run(overrides: Partial<ConnectOptions>, lines?: string[]) {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const done = runConnect(url, options(overrides), { input, output });
  if (lines) {
    for (const line of lines) input.write(`${line}\n`);
    input.end();
  }
  const code = await done;
  const records = text
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, records, text };
}

describe('scripted runs exit with a code that says what happened', () => {
  test('join + push + --exit-after reply: 0, with the reply as a JSON line', async () => {
    const { code, records } = await run({ join: ['room:lobby'], push: ['echo {"x":1}'], exitAfter: parseExitAfter('reply') });
    assert.equal(code, ExitCodes.ok);
    const reply = records.find((r) => r.type === 'reply');
    assert.deepEqual({ ...reply, t: undefined, ms: undefined }, {
      t: undefined, ms: undefined, type: 'reply', topic: 'room:lobby', event: 'echo', status: 'ok', response: { x: 1 },
    });
    assert.equal(typeof reply?.ms, 'number');
    assert.ok(records.every((r) => typeof r.t === 'string' && !Number.isNaN(Date.parse(r.t as string))));
    const open = records.find((r) => r.type === 'state' && r.state === 'open');
    assert.match(String(open?.detail), /^connected to ws:\/\/\S+ over websocket/, 'the transport by its name, not "custom"');
  });

  test('an error reply: 5', async () => {
    const { code } = await run({ join: ['room:lobby'], push: ['fail'], exitAfter: parseExitAfter('reply') });
    assert.equal(code, ExitCodes.replyError);
  });

  test('a refused join: 4', async () => {
    const { code, records } = await run({ join: ['room:private'], exitAfter: parseExitAfter('join') });
    assert.equal(code, ExitCodes.joinRefused);
    assert.deepEqual(records.find((r) => r.type === 'join')?.response, { reason: 'unauthorized' });
  });

  test('no reply in time: 6', async () => {
    const { code } = await run({ join: ['room:lobby'], push: ['noreply'], exitAfter: parseExitAfter('reply'), timeout: 400 });
    assert.equal(code, ExitCodes.timeout);
  });

  test('waiting for a broadcast: event:shout exits once it arrives', async () => {
    const { code, records } = await run({ param: ['user=ada'], join: ['room:lobby'], push: ['shout {"hi":true}'], exitAfter: parseExitAfter('event:shout') });
    assert.equal(code, ExitCodes.ok);
    assert.deepEqual(records.find((r) => r.type === 'message' && r.event === 'shout')?.payload, { hi: true });
    assert.ok(records.some((r) => r.type === 'message' && r.event === 'presence_state'));
  });

  test('nothing listening: 3', async () => {
    const closed = createServer({ port: 0, channels: {} });
    const { url: deadUrl } = await closed.listen();
    await closed.close();
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const code = await runConnect(deadUrl, options({ join: ['room:lobby'], exitAfter: parseExitAfter('join'), timeout: 500 }), { input, output });
    assert.equal(code, ExitCodes.connectFailed);
  });

  test('bad arguments: 2, with one line and a hint', async () => {
    const output = new PassThrough();
    let text = '';
    output.on('data', (c: Buffer) => (text += c.toString()));
    const code = await runConnect(url, options({ join: ['room:lobby'], push: ['echo {x'] }), { input: new PassThrough(), output });
    assert.equal(code, ExitCodes.usage);
    assert.match(text, /^tether connect: payload of echo is not valid JSON: .*\nRun "tether connect --help" for every flag\.\n$/);
    assert.equal(await runConnect('ftp://x', options({}), { input: new PassThrough(), output }), ExitCodes.usage);
  });
});

test('piped commands run in order; the exit code is the first failure once input ends', async () => {
  const { code, records } = await run({ param: ['user=ada'] }, [
    '/join room:lobby {"a":1}',
    'echo {"n":1}',
    '/push room:lobby fail',
    '/join room:other',
    '/use room:lobby',
    '/stats',
  ]);
  assert.equal(code, ExitCodes.replyError);
  const replies = records.filter((r) => r.type === 'reply').map((r) => [r.event, r.status]);
  assert.deepEqual(replies, [['echo', 'ok'], ['fail', 'error']]);
  assert.equal(records.filter((r) => r.type === 'join' && r.status === 'ok').length, 2);
  assert.ok(records.some((r) => r.type === 'info' && (r.data as { state?: string })?.state === 'open'));
});

test('piped: a push with no reply within the reply timeout is "sent, no reply", not a failure', async () => {
  const { code, text } = await run({ json: false, replyTimeout: 300 }, ['/join room:lobby', 'noreply {"n":1}', 'echo {"n":2}']);
  assert.equal(code, ExitCodes.ok, text);
  assert.match(text, /· room:lobby noreply sent, no reply within 0\.3 s/);
  assert.match(text, /✓ room:lobby echo ok \{"n":2\}/);
  assert.doesNotMatch(text, /✗/);
});

test('scripted --exit-after reply: no reply is still a timeout (6), and says so in JSON', async () => {
  const { code, records } = await run({ join: ['room:lobby'], push: ['noreply'], exitAfter: parseExitAfter('reply'), replyTimeout: 200 });
  assert.equal(code, ExitCodes.timeout);
  const reply = records.find((r) => r.type === 'reply');
  assert.deepEqual([reply?.status, reply?.timeoutMs, reply?.failure], ['timeout', 200, true]);
});

test('a close is explained in words', () => {
  assert.equal(explainClose('closed with 4001 slow consumer', 4001), `closed with 4001 slow consumer (you read too slowly: the server's buffer for this connection stayed over its byte budget)`);
  assert.match(explainClose('close 1006; next attempt in 80 ms', undefined), /^close 1006 \(the connection dropped without a close frame: [^)]*\); next attempt in 80 ms$/);
  assert.match(explainClose('closed with 1012 server restart; next attempt in 298 ms', 1012), /^closed with 1012 server restart \(the server is restarting; reconnect after a backoff\); next attempt in 298 ms$/);
  assert.equal(explainClose('connect ECONNREFUSED 127.0.0.1:1', undefined), 'connect ECONNREFUSED 127.0.0.1:1');
});

test('argument parsers', () => {
  assert.deepEqual(parseJoin('room:1 {"token":"x"}'), { topic: 'room:1', params: { token: 'x' } });
  assert.deepEqual(parsePush('echo'), { event: 'echo', payload: {} });
  assert.throws(() => parsePush('echo [1]'), /must be a JSON object/);
  assert.deepEqual(parseExitAfter('message:3'), { kind: 'message', count: 3 });
  assert.deepEqual(parseExitAfter('event:shout:2'), { kind: 'message', count: 2, event: 'shout' });
  assert.throws(() => parseExitAfter('forever'), /use join, reply/);
  assert.equal(normalizeEndpoint('http://127.0.0.1:4000/socket/'), 'ws://127.0.0.1:4000/socket');
  assert.equal(normalizeEndpoint('https://example.com/socket/websocket'), 'wss://example.com/socket/websocket');
});
