import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryHistoryStore } from '../../src/broker/history-memory.ts';
import type { HistoryStore, StreamPosition } from '../../src/broker/types.ts';
import { LiveSeam, recover } from '../../src/server/recovery/replay.ts';

const policy = { maxMessages: 5 };

async function fill(store: HistoryStore, topic: string, n: number): Promise<StreamPosition[]> {
  const out: StreamPosition[] = [];
  for (let i = 0; i < n; i++) out.push(await store.append(topic, 'msg', { i }, policy));
  return out;
}

test('a first join starts at the current position and replays nothing', async () => {
  const store = new MemoryHistoryStore();
  const [, , p3] = await fill(store, 't', 3);
  assert.deepEqual(await recover(store, 't', undefined), { kind: 'fresh', position: p3 });
});

test('a rejoin inside the window gets exactly the missed messages, in order', async () => {
  const store = new MemoryHistoryStore();
  const ps = await fill(store, 't', 5);
  const r = await recover(store, 't', ps[1]);
  assert.equal(r.kind, 'recovered');
  if (r.kind !== 'recovered') return;
  assert.deepEqual(r.entries.map((e) => e.payload), [{ i: 2 }, { i: 3 }, { i: 4 }]);
  assert.deepEqual(r.position, ps[4]);
});

test('a rejoin already up to date recovers with nothing to replay', async () => {
  const store = new MemoryHistoryStore();
  const ps = await fill(store, 't', 2);
  assert.deepEqual(await recover(store, 't', ps[1]), { kind: 'recovered', entries: [], position: ps[1] });
});

test('a gap larger than the window is lost, never partly replayed', async () => {
  const store = new MemoryHistoryStore();
  const ps = await fill(store, 't', 9); // window keeps offsets 5..9
  const r = await recover(store, 't', ps[2]); // needs 4..9
  assert.equal(r.kind, 'lost');
  if (r.kind === 'lost') {
    assert.equal(r.reason, 'gap_too_large');
    assert.deepEqual(r.position, ps[8]);
  }
});

test('an unknown epoch (history lost, e.g. a restarted memory store) is lost with epoch_changed', async () => {
  const before = new MemoryHistoryStore();
  const [p] = await fill(before, 't', 1);
  const after = new MemoryHistoryStore();
  await fill(after, 't', 2);
  const r = await recover(after, 't', p);
  assert.equal(r.kind, 'lost');
  if (r.kind === 'lost') assert.equal(r.reason, 'epoch_changed');
});

test('a store answer with a hole is reported lost, and a failing store is unavailable', async () => {
  const holey: HistoryStore = {
    append: () => Promise.reject(new Error('unused')),
    position: () => Promise.resolve({ epoch: 'e', offset: 9 }),
    range: () =>
      Promise.resolve({
        recovered: true,
        entries: [
          { offset: 4, event: 'x', payload: {} },
          { offset: 6, event: 'x', payload: {} },
        ],
        position: { epoch: 'e', offset: 6 },
      }),
  };
  const r = await recover(holey, 't', { epoch: 'e', offset: 3 });
  assert.equal(r.kind === 'lost' && r.reason, 'gap_too_large');
  const errors: Error[] = [];
  const broken: HistoryStore = { ...holey, range: () => Promise.reject(new Error('down')) };
  const u = await recover(broken, 't', { epoch: 'e', offset: 3 }, (e) => errors.push(e));
  assert.equal(u.kind === 'lost' && u.reason, 'unavailable');
  assert.equal(errors[0]?.message, 'down');
});

interface Live {
  position?: StreamPosition;
  n: number;
}

test('the seam holds live messages during replay and releases only those past the replay', async () => {
  const store = new MemoryHistoryStore();
  const ps = await fill(store, 't', 3);
  const seam = new LiveSeam<Live>((m) => m.position);
  // Live delivery is switched on first; then messages keep arriving while history is read.
  const p4 = await store.append('t', 'msg', { i: 3 }, policy);
  assert.equal(seam.admit({ position: p4, n: 4 }), false);
  const r = await recover(store, 't', ps[0]);
  const p5 = await store.append('t', 'msg', { i: 4 }, policy);
  assert.equal(seam.admit({ position: p5, n: 5 }), false);
  assert.equal(seam.admit({ n: -1 }), false, 'unpositioned pushes wait too, to keep order');
  assert.equal(r.kind, 'recovered');
  if (r.kind !== 'recovered') return;
  assert.deepEqual(r.entries.map((e) => e.offset), [2, 3, 4]);
  const released = seam.open(r.position);
  assert.deepEqual(released?.map((m) => m.n), [5, -1], 'offset 4 came by replay; only 5 is new');
  assert.equal(seam.buffering, false);
  assert.equal(seam.admit({ position: p5, n: 5 }), false, 'a redelivered offset is dropped');
  assert.equal(seam.admit({ position: { epoch: p5.epoch, offset: p5.offset + 1 }, n: 6 }), true);
  assert.equal(seam.admit({ position: { epoch: 'other', offset: 1 }, n: 7 }), true, 'a new epoch passes through');
});

test('a seam that overflows while buffering refuses to hand back a partial stream', () => {
  const seam = new LiveSeam<Live>((m) => m.position, 2);
  for (let i = 1; i <= 3; i++) seam.admit({ position: { epoch: 'e', offset: i }, n: i });
  assert.equal(seam.open({ epoch: 'e', offset: 0 }), null);
});
