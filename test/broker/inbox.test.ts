/**
 * The inbox's timing and bookkeeping in virtual time (the memory broker's loop-back transport): every request
 * settles exactly once, a timeout fires at its deadline and not before, and nothing is left pending.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { VirtualClock } from '../helpers/clock.ts';

/** Lets loop-back deliveries (one setImmediate each way) and their promise chains run. */
async function turns(n = 4): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

async function broker(options: { inboxMaxPendingRequests?: number } = {}) {
  const clock = new VirtualClock();
  const b = new MemoryBroker({ timers: clock, ...options });
  await b.start();
  const baseline = clock.pendingTimers; // the history sweep
  return { b, clock, baseline };
}

describe('inbox in virtual time', () => {
  it('times out at the deadline, exactly once, aborting the handler and leaving no timer or entry behind', async () => {
    const { b, clock, baseline } = await broker();
    const aborts: string[] = [];
    b.inbox.handle('hang', (data, { signal }) => {
      signal.addEventListener('abort', () => aborts.push(data));
      return new Promise<string>(() => {});
    });
    const outcomes: (string | null)[] = [];
    const settled = [b.inbox.request(b.nodeId, 'hang', 'a', 1000), b.inbox.request(b.nodeId, 'hang', 'b', 3000)].map((p) =>
      p.then((x) => outcomes.push(x)),
    );
    await turns();
    assert.deepEqual(b.inbox.pending, { waiting: 2, answering: 2 });
    assert.equal(clock.pendingTimers, baseline + 4); // a deadline on each side of each request
    clock.advance(999);
    await turns();
    assert.deepEqual(outcomes, []);
    clock.advance(1);
    await turns();
    assert.deepEqual(outcomes, [null]);
    assert.deepEqual(aborts, ['a']);
    clock.advance(2000);
    await Promise.all(settled);
    assert.deepEqual(outcomes, [null, null]);
    assert.deepEqual(aborts, ['a', 'b']);
    assert.deepEqual(b.inbox.pending, { waiting: 0, answering: 0 });
    assert.equal(clock.pendingTimers, baseline);
    clock.advance(60_000);
    await turns();
    assert.deepEqual(outcomes, [null, null], 'nothing settles twice');
    await b.close();
  });

  it('an answer clears both deadlines; a late answer after the timeout is dropped', async () => {
    const { b, clock, baseline } = await broker();
    let finish!: (answer: string) => void;
    b.inbox.handle('quick', async (data) => data);
    b.inbox.handle('late', () => new Promise<string>((resolve) => (finish = resolve)));
    assert.equal(await b.inbox.request(b.nodeId, 'quick', 'x', 1000), 'x');
    assert.equal(clock.pendingTimers, baseline);
    const late = b.inbox.request(b.nodeId, 'late', '', 500);
    await turns();
    clock.advance(500);
    assert.equal(await late, null);
    finish('too late');
    await turns();
    assert.deepEqual(b.inbox.pending, { waiting: 0, answering: 0 });
    assert.equal(clock.pendingTimers, baseline);
    await b.close();
  });

  it('refuses over maxPendingRequests and frees the slots at the timeout', async () => {
    const { b, clock } = await broker({ inboxMaxPendingRequests: 3 });
    b.inbox.handle('hang', () => new Promise<string>(() => {}));
    const waits = [1, 2, 3].map(() => b.inbox.request(b.nodeId, 'hang', '', 100));
    await assert.rejects(b.inbox.request(b.nodeId, 'hang', '', 100), { name: 'InboxError', code: 'busy' });
    await turns();
    clock.advance(100);
    assert.deepEqual(await Promise.all(waits), [null, null, null]);
    assert.deepEqual(b.inbox.pending, { waiting: 0, answering: 0 });
    const again = b.inbox.request(b.nodeId, 'hang', '', 100);
    await turns();
    assert.deepEqual(b.inbox.pending, { waiting: 1, answering: 1 });
    clock.advance(100);
    assert.equal(await again, null);
    await b.close();
  });

  it('close settles every pending request with null at once', async () => {
    const { b, clock, baseline } = await broker();
    b.inbox.handle('hang', () => new Promise<string>(() => {}));
    const pending = Array.from({ length: 5 }, () => b.inbox.request(b.nodeId, 'hang', '', 60_000));
    await turns();
    await b.close();
    assert.deepEqual(await Promise.all(pending), [null, null, null, null, null]);
    assert.deepEqual(b.inbox.pending, { waiting: 0, answering: 0 });
    assert.equal(clock.pendingTimers, baseline - 1); // the sweep stopped too
  });

  it('rejects a timeout that is not a positive number', async () => {
    const { b } = await broker();
    for (const t of [0, -1, Number.NaN]) await assert.rejects(b.inbox.request(b.nodeId, 'k', '', t), TypeError);
    assert.throws(() => new MemoryBroker({ inboxMaxPendingRequests: 0 }), /maxPendingRequests must be a positive integer/);
    assert.throws(() => new MemoryBroker({ inboxMaxMessageBytes: 1.5 }), /maxMessageBytes must be a positive integer/);
    await b.close();
  });
});
