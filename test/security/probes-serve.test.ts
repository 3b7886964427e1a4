/**
 * `tether serve` as a real process against hostile clients: prototype-named presence keys, topics, events and
 * params must not end it (the demo room tracks presence under the `user` connect param).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawClient } from '../helpers/server-fixtures.ts';
import { startServe } from '../helpers/serve-process.ts';

const PROTO_NAMES = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf'];

test('tether serve: user=__proto__ (and other Object.prototype names) as presence keys, joining and leaving room:*, does not end the process', async () => {
  const srv = await startServe();
  for (const user of PROTO_NAMES) {
    const c = await RawClient.connect(`${srv.wsUrl}/websocket?vsn=2.0.0&user=${encodeURIComponent(user)}`);
    c.send(['1', '1', 'room:lobby', 'phx_join', {}]);
    assert.deepEqual(await c.json(), ['1', '1', 'room:lobby', 'phx_reply', { response: { joined: true }, status: 'ok' }]);
    const state = (await c.json()) as [null, null, string, string, Record<string, unknown>];
    assert.equal(state[3], 'presence_state');
    assert.ok(Object.hasOwn(state[4], user), `presence_state lists "${user}" as a key: ${JSON.stringify(state[4])}`);
    const diff = (await c.json()) as [null, null, string, string, { joins: Record<string, unknown> }];
    assert.equal(diff[3], 'presence_diff');
    assert.ok(Object.hasOwn(diff[4].joins, user), `the join diff carries "${user}" as data`);
    // Crash cleanup path (untrackAll from a crashed channel), then a close with the channel still joined.
    c.send(['1', '2', 'room:lobby', 'crash', {}]);
    assert.equal(((await c.json()) as unknown[])[3], 'phx_error');
    c.send(['3', '3', 'room:lobby', 'phx_join', {}]);
    assert.equal(((await c.json()) as unknown[])[3], 'phx_reply');
    c.close();
    await c.closed;
  }
  // Leave the room the graceful way, too.
  const l = await RawClient.connect(`${srv.wsUrl}/websocket?vsn=2.0.0&user=__proto__`);
  l.send(['1', '1', 'room:x', 'phx_join', {}]);
  await l.json();
  l.send(['1', '2', 'room:x', 'phx_leave', {}]);
  // The process is still serving a well-behaved client.
  const good = await RawClient.connect(`${srv.wsUrl}/websocket?vsn=2.0.0&user=ann`);
  good.send(['1', '1', 'room:lobby', 'phx_join', {}]);
  assert.equal(((await good.json()) as unknown[])[4] !== undefined, true);
  good.send('["1","2","room:lobby","echo",{"__proto__":{"x":1},"constructor":2}]');
  let reply: unknown[];
  do reply = (await good.json()) as unknown[];
  while (reply[3] !== 'phx_reply');
  assert.equal(JSON.stringify(reply[4]), '{"response":{"__proto__":{"x":1},"constructor":2},"status":"ok"}');
  assert.equal(srv.alive(), true, `tether serve exited:\n${srv.output()}`);
  good.close();
});

test('tether serve: the admin channel reads its token as data, and no client string becomes a metric label', async () => {
  const srv = await startServe(['--admin-token', 's3cret']);
  const c = await RawClient.connect(`${srv.wsUrl}/websocket?vsn=2.0.0&user=constructor`);
  const refusals = [
    '{"__proto__":{"admin_token":"s3cret"}}',
    '{"admin_token":["s3cret"]}',
    '{"admin_token":{"toString":"s3cret"}}',
    '{"constructor":{"prototype":{"admin_token":"s3cret"}}}',
  ];
  for (const [i, params] of refusals.entries()) {
    c.send(`["${i}","${i}","tether:admin","phx_join",${params}]`);
    assert.deepEqual(await c.json(), [String(i), String(i), 'tether:admin', 'phx_reply', { response: { reason: 'unauthorized' }, status: 'error' }], params);
  }
  c.send('["a","a","tether:admin","phx_join",{"admin_token":"s3cret","__proto__":{"x":1}}]');
  assert.deepEqual(((await c.json()) as unknown[])[4], { response: {}, status: 'ok' });
  // Errors and refusals whose context carries client strings.
  for (const name of PROTO_NAMES) {
    c.send(JSON.stringify([null, name, name, 'phx_join', {}]));
    c.send(JSON.stringify([null, `r-${name}`, `room:${name}`, 'phx_join', {}]));
  }
  const bad = await RawClient.connect(`${srv.wsUrl}/websocket?vsn=2.0.0&__proto__=1`);
  bad.send('["__proto__","constructor"]');
  await bad.closed;
  const text = await (await fetch(`${srv.httpUrl}/metrics`)).text();
  for (const line of text.split('\n').filter((l) => l.startsWith('tether_') && l.includes('{'))) {
    for (const name of PROTO_NAMES) assert.ok(!line.includes(name), `a client string in a label: ${line}`);
  }
  assert.match(text, /tether_errors_total\{context="decode"\} 1/);
  assert.equal(srv.alive(), true);
  c.close();
});
