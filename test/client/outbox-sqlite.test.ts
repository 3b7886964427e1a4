/** The SQLite outbox store, including a real client process killed with SIGKILL while its pushes wait. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SqliteOutboxStore } from '../../src/client/outbox-sqlite.ts';
import { ok, type ChannelDefinition } from '../../src/server/index.ts';
import { waitFor } from '../../src/testing/index.ts';
import { killHard, spawnFixture, startRoomServer } from './live.ts';
import { fakeSocket } from './setup.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-outbox-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('store round trip: JSON and binary bodies, seq order, delete', () => {
  const store = new SqliteOutboxStore(join(dir, 'unit.db'));
  store.put({ id: 'b', seq: 2, topic: 't', event: 'e', body: new Uint8Array([1, 2]), createdAt: 1, expiresAt: null, timeoutMs: 10 });
  store.put({ id: 'a', seq: 1, topic: 't', event: 'e', body: '{"x":1}', createdAt: 1, expiresAt: 99, timeoutMs: 10 });
  const loaded = store.load();
  assert.deepEqual(loaded.map((m) => m.id), ['a', 'b']);
  assert.equal(loaded[0].body, '{"x":1}');
  assert.deepEqual([...(loaded[1].body as Uint8Array)], [1, 2]);
  assert.equal(loaded[0].expiresAt, 99);
  store.delete('a');
  assert.deepEqual(store.load().map((m) => m.id), ['b']);
  store.close();
});

test('a socket restores stored messages (same ids) and settles expired ones', async () => {
  const path = join(dir, 'restore.db');
  const store = new SqliteOutboxStore(path);
  const now = Date.now();
  store.put({ id: 'keep', seq: 1, topic: 'room:1', event: 'echo', body: '{"n":1}', createdAt: now, expiresAt: null, timeoutMs: 1000 });
  store.put({ id: 'old', seq: 2, topic: 'room:1', event: 'echo', body: '{"n":2}', createdAt: 0, expiresAt: 1, timeoutMs: 1000 });
  const { socket } = fakeSocket({ outbox: { store } });
  const settled: string[] = [];
  socket.on('settled', (s) => settled.push(`${s.id}:${s.result.status}`));
  await socket.ready;
  assert.deepEqual(settled, ['old:rejected']);
  assert.equal(socket.stats().outboxDepth, 1);
  assert.deepEqual(store.load().map((m) => m.id), ['keep']);
  store.close();
});

test('kill -9 with pushes in the SQLite outbox: after a restart every one is sent once, in order', async () => {
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}/socket`;
  const db = join(dir, 'kill.db');
  const count = 50;
  const writer = await spawnFixture('outbox-client.ts', [url, db, 'push', String(count)]);
  await killHard(writer.child);
  const seen: number[] = [];
  const recorder: ChannelDefinition = {
    join: () => ok({}),
    handleIn: (event, payload) => {
      seen.push((payload as { n: number }).n);
      return ok(payload);
    },
  };
  const { server } = await startRoomServer({ port, channels: { 'room:*': recorder } });
  try {
    const resumed = await spawnFixture('outbox-client.ts', [url, db, 'resume']);
    await waitFor(() => resumed.lines.includes('done'), { what: 'restored pushes settled', timeoutMs: 10_000 });
    assert.equal(resumed.lines[1], `restored ${count}`);
    assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i + 1));
    assert.equal(resumed.lines.filter((l) => l.startsWith('settled ') && l.endsWith(' ok')).length, count);
    await new Promise((r) => resumed.child.once('exit', r));
    const store = new SqliteOutboxStore(db);
    assert.equal(store.load().length, 0, 'the file is empty once everything was acknowledged');
    store.close();
  } finally {
    await server.close();
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
