/**
 * `__proto__`, `constructor`, `toString` and `hasOwnProperty` in every client-controlled position: connect params,
 * topics, events, payload keys, join params, presence keys, assigns, the V2 meta element (recovery position and
 * outbox id). Each must stay plain data: echoed as sent, listed as a key, never a crash or a polluted prototype.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertServes, RawClient, startProbeServer } from './probe-kit.ts';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];
let s: Awaited<ReturnType<typeof startProbeServer>>;
before(async () => {
  s = await startProbeServer();
});
after(() => {
  // Nothing a client sent may have reached Object.prototype.
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

/** The next reply to `ref`, skipping pushes and broadcasts. */
async function replyTo(c: RawClient, ref: string): Promise<[string | null, string, string, string, { status: string; response: Record<string, unknown> }]> {
  for (;;) {
    const f = (await c.json()) as [string | null, string, string, string, { status: string; response: Record<string, unknown> }];
    if (f[3] === 'phx_reply' && f[1] === ref) return f;
  }
}

/** Sends raw JSON text, since a JS object literal cannot carry an own `__proto__` key. */
function sendText(c: RawClient, text: string): void {
  c.send(text);
}

test('connect params named like Object.prototype members are plain params', async () => {
  const query = Object.fromEntries(NAMES.map((n, i) => [n, `v${i}`]));
  const c = await RawClient.connect(s.endpoint(query));
  sendText(c, '["1","1","probe:params","phx_join",{}]');
  assert.equal((await replyTo(c, '1'))[4].status, 'ok');
  for (const [i, name] of NAMES.entries()) {
    sendText(c, JSON.stringify(['1', `p${i}`, 'probe:params', 'param', { key: name }]));
    assert.deepEqual((await replyTo(c, `p${i}`))[4].response, { value: `v${i}` }, name);
  }
  // A name the client did not send is absent, not an inherited function.
  const bare = await RawClient.connect(s.endpoint());
  sendText(bare, '["1","1","probe:params","phx_join",{}]');
  await replyTo(bare, '1');
  for (const name of NAMES) {
    sendText(bare, JSON.stringify(['1', name, 'probe:params', 'param', { key: name }]));
    assert.deepEqual((await replyTo(bare, name))[4].response, { value: null }, name);
  }
  c.close();
  bare.close();
  await assertServes(s);
});

test('topics and events named like Object.prototype members: unmatched topic, unknown event, or an ordinary channel', async () => {
  const c = await RawClient.connect(s.endpoint());
  for (const name of NAMES) {
    sendText(c, JSON.stringify(['1', name, name, 'phx_join', {}]));
    assert.deepEqual((await replyTo(c, name))[4], { response: { reason: 'unmatched topic' }, status: 'error' }, `topic ${name}`);
    sendText(c, JSON.stringify([null, `m-${name}`, name, 'anything', {}]));
    assert.deepEqual((await replyTo(c, `m-${name}`))[4], { response: { reason: 'unmatched topic' }, status: 'error' }, `message to ${name}`);
    const topic = `room:${name}`;
    sendText(c, JSON.stringify([`j-${name}`, `j-${name}`, topic, 'phx_join', {}]));
    assert.deepEqual((await replyTo(c, `j-${name}`))[4], { response: { joined: true }, status: 'ok' }, topic);
    sendText(c, JSON.stringify([`j-${name}`, `e-${name}`, topic, name, {}]));
    assert.deepEqual((await replyTo(c, `e-${name}`))[4], { response: { reason: `unknown event ${name}` }, status: 'error' }, `event ${name}`);
  }
  assert.equal(c.ws.readyState, c.ws.OPEN);
  c.close();
  await assertServes(s);
});

test('payload keys and join params named like Object.prototype members come back byte for byte', async () => {
  const c = await RawClient.connect(s.endpoint());
  const params = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"toString":"x","hasOwnProperty":1}';
  sendText(c, `["1","1","probe:join","phx_join",${params}]`);
  const joined = await replyTo(c, '1');
  assert.equal(JSON.stringify(joined[4]), `{"response":{"params":${params}},"status":"ok"}`);
  sendText(c, '["2","2","room:keys","phx_join",{}]');
  await replyTo(c, '2');
  const payload = '{"__proto__":{"polluted":1},"a":{"__proto__":[1,2],"constructor":null},"valueOf":{"toString":{}}}';
  sendText(c, `["2","3","room:keys","echo",${payload}]`);
  const echoed = await replyTo(c, '3');
  assert.equal(JSON.stringify(echoed[4]), `{"response":${payload},"status":"ok"}`);
  c.close();
  await assertServes(s);
});

test('presence keys named like Object.prototype members, tracked, listed, diffed and cleaned up on crash, leave and close', async () => {
  // From the connect param (the demo room), several of them in one room.
  const clients: RawClient[] = [];
  for (const user of NAMES) {
    const c = await RawClient.connect(s.endpoint({ user }));
    clients.push(c);
    sendText(c, '["1","1","room:presence","phx_join",{}]');
    await replyTo(c, '1');
  }
  const watcher = await RawClient.connect(s.endpoint({ user: 'watcher' }));
  sendText(watcher, '["1","1","room:presence","phx_join",{}]');
  await replyTo(watcher, '1');
  let state: Record<string, unknown> | undefined;
  while (state === undefined) {
    const f = (await watcher.json()) as unknown[];
    if (f[3] === 'presence_state') state = f[4] as Record<string, unknown>;
  }
  for (const user of NAMES) assert.ok(Object.hasOwn(state, user), `presence_state lists ${user}`);
  const list = s.server.presence.list('room:presence');
  assert.equal(Object.getPrototypeOf(list), null);
  assert.deepEqual(Object.keys(list).sort(), [...NAMES, 'watcher'].sort());
  // Crash, leave, close: every teardown path untracks them.
  sendText(clients[0], '["1","2","room:presence","crash",{}]');
  sendText(clients[1], '["1","2","room:presence","phx_leave",{}]');
  for (const c of clients.slice(2)) c.close();
  await replyTo(clients[1], '2');
  for (let i = 0; i < 50 && Object.keys(s.server.presence.list('room:presence')).length > 1; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(Object.keys(s.server.presence.list('room:presence')), ['watcher']);
  // From a payload, through the probe channel, with a meta that carries the names too.
  const p = await RawClient.connect(s.endpoint());
  sendText(p, '["1","1","probe:presence","phx_join",{}]');
  await replyTo(p, '1');
  for (const [i, key] of NAMES.entries()) {
    sendText(p, `["1","t${i}","probe:presence","track",{"key":${JSON.stringify(key)},"meta":{"__proto__":{"polluted":1},"constructor":"c"}}]`);
    const reply = await replyTo(p, `t${i}`);
    assert.equal(reply[4].status, 'ok');
    const listed = (reply[4].response.list as Record<string, { metas: Record<string, unknown>[] }>)[key];
    assert.ok(listed, `list has ${key}`);
    assert.equal(JSON.stringify(listed.metas[0]).startsWith('{"__proto__":{"polluted":1},"constructor":"c","phx_ref":'), true, JSON.stringify(listed.metas[0]));
  }
  p.close();
  for (const c of clients.slice(0, 2)) c.close();
  watcher.close();
  await assertServes(s);
});

test('assigns keyed by a client string stay own data', async () => {
  const c = await RawClient.connect(s.endpoint());
  sendText(c, '["1","1","probe:assigns","phx_join",{}]');
  await replyTo(c, '1');
  for (const [i, key] of NAMES.entries()) {
    sendText(c, JSON.stringify(['1', `a${i}`, 'probe:assigns', 'assign', { key, value: { polluted: true } }]));
    assert.deepEqual((await replyTo(c, `a${i}`))[4], { response: { own: true, value: { polluted: true } }, status: 'ok' }, key);
  }
  c.close();
  await assertServes(s);
});

test('the V2 meta element: prototype names as outbox ids, as recovery epochs and as meta keys', async () => {
  const c = await RawClient.connect(s.endpoint({ tether: '1', tether_cid: '__proto__' }));
  // A recovery position whose epoch is "__proto__": not this stream's epoch, so recovered: false, plainly.
  sendText(c, '["1","1","feed:meta","phx_join",{},{"since":{"o":3,"e":"__proto__"},"__proto__":{"polluted":1}}]');
  const joined = (await replyTo(c, '1')) as unknown[];
  assert.equal((joined[4] as { status: string }).status, 'ok');
  assert.equal((joined[5] as { recovered: boolean }).recovered, false);
  // A position hidden behind an own "__proto__" key is an invalid position: reported, and the join goes ahead as a first join.
  sendText(c, '["2","2","feed:bad","phx_join",{},{"since":{"__proto__":{"o":1,"e":"x"}}}]');
  const bad = (await replyTo(c, '2')) as unknown[];
  assert.equal((bad[4] as { status: string }).status, 'ok');
  assert.equal(typeof (bad[5] as { e: unknown }).e, 'string');
  assert.equal(Object.hasOwn(bad[5] as object, 'recovered'), false);
  for (const [i, id] of NAMES.entries()) {
    // The same id twice: the second is answered from the de-duplication window, keyed by the id as data.
    for (const ref of [`d${i}`, `d${i}b`]) {
      sendText(c, `["1","${ref}","feed:meta","echo",{"n":${i}},{"id":${JSON.stringify(id)},"${id}":1}]`);
      assert.deepEqual((await replyTo(c, ref))[4], { response: { n: i }, status: 'ok' }, `${id} ${ref}`);
    }
  }
  c.close();
  await assertServes(s);
});

test('no probe here was reported as anything but a client error, and the connections all closed', async () => {
  for (let i = 0; i < 50 && s.server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.server.connectionCount, 0);
  const contexts = s.errors.map((e) => e.context);
  // The requested crash, and the ignored recovery position.
  assert.ok(contexts.every((c) => /^(channel room:\* room:presence handleIn crash|history feed:bad)/.test(c)), contexts.join('\n'));
});
