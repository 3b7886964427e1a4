/** The stock `phoenix` client on a history-enabled topic: with or without the opt-in it keeps working. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Socket, type Channel } from 'phoenix';
import { ok } from '../../src/server/index.ts';
import { startServer } from '../helpers/server-fixtures.ts';
import { waitFor } from '../faults/harness/processes.ts';

function joined(channel: Channel): Promise<unknown> {
  return new Promise((resolve, reject) => {
    channel.join(1000).receive('ok', resolve).receive('error', reject).receive('timeout', () => reject(new Error('join timeout')));
  });
}

test('phoenix.js ignores positions and reply meta; its pushes and rejoins work as with Phoenix', async (t) => {
  const s = await startServer({
    channels: { 'feed:*': { history: { maxMessages: 10 }, join: () => ok({ hello: 'there' }), handleIn: (_e, p) => ok(p) } },
  });
  t.after(() => s.server.close());
  const results: Record<string, number[]> = { plain: [], optedIn: [] };
  const sockets: Socket[] = [];
  const channels: Channel[] = [];
  let opens = 0;
  t.after(() => sockets.forEach((x) => x.disconnect()));
  for (const [name, params] of [['plain', {}], ['optedIn', { tether: '1' }]] as const) {
    const socket = new Socket(s.url, { params, rejoinAfterMs: () => 30, reconnectAfterMs: () => 30 });
    sockets.push(socket);
    socket.connect();
    const channel = socket.channel('feed:a');
    channel.on('msg', (p: { n: number }) => {
      results[name].push(p.n);
    });
    channels.push(channel);
    socket.onOpen(() => {
      opens++;
    });
    assert.deepEqual(await joined(channel), { hello: 'there' }, `${name}: the join reply`);
    const echoed = await new Promise((resolve) => channel.push('echo', { x: 1 }).receive('ok', resolve));
    assert.deepEqual(echoed, { x: 1 });
  }
  for (let n = 1; n <= 3; n++) s.server.broadcast('feed:a', 'msg', { n });
  await waitFor(() => results.plain.length === 3 && results.optedIn.length === 3, 2000, 'broadcasts');
  assert.deepEqual(results, { plain: [1, 2, 3], optedIn: [1, 2, 3] });
  // A reconnect: phoenix.js rejoins without a position (a first join for the server) and goes on receiving.
  for (const socket of sockets) (socket as unknown as { conn: WebSocket }).conn.close(4999);
  await waitFor(() => opens === 4 && channels.every((c) => c.state === 'joined'), 3000, 'both clients to reconnect and rejoin');
  s.server.broadcast('feed:a', 'msg', { n: 4 });
  await waitFor(() => results.plain.length === 4 && results.optedIn.length === 4, 3000, 'a broadcast after the rejoin');
});
