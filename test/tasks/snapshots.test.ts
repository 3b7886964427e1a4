/** The same scenarios against every SnapshotStore driver: memory, and Redis (keys under a per-process prefix). */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createClient } from 'redis';
import { MemorySnapshotStore, type SnapshotLimits, type SnapshotStore } from '../../src/tasks/server/snapshots.ts';
import { RedisSnapshotStore } from '../../src/tasks/server/snapshots-redis.ts';
import type { TaskSnapshot } from '../../src/tasks/types.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skipRedis = process.env.TETHER_SKIP_REDIS === '1' ? 'TETHER_SKIP_REDIS=1' : undefined;
const prefix = `t${process.pid}snap:`;

const snap = (id: string, progress = 0): TaskSnapshot => ({ task_id: id, queue: 'q', status: 'progress', progress, timestamp: 1 });

type Make = (limits: SnapshotLimits, now: () => number) => SnapshotStore;

function scenarios(name: string, make: Make, skip?: string): void {
  describe(`${name} snapshot store`, { skip }, () => {
    it('keeps the latest state of each task, readable by id', async () => {
      const store = make({}, Date.now);
      await store.putTask(snap('a', 10));
      await store.putTask(snap('a', 60));
      assert.equal((await store.getTask('q', 'a'))?.progress, 60);
      assert.equal(await store.getTask('q', 'missing'), null);
      assert.equal(await store.getTask('other', 'a'), null);
      await store.close();
    });

    it('keeps only the most recent N tasks per queue, newest first', async () => {
      let t = 1_000;
      const store = make({ maxTasksPerQueue: 3 }, () => t);
      for (const id of ['a', 'b', 'c', 'd']) {
        t += 1;
        await store.putTask(snap(`${id}-${name}`));
      }
      t += 1;
      await store.putTask(snap(`b-${name}`, 5));
      assert.deepEqual((await store.recentTasks('q', 10)).map((s) => s.task_id), ['b', 'd', 'c'].map((id) => `${id}-${name}`));
      assert.equal(await store.getTask('q', `a-${name}`), null);
      await store.close();
    });

    it('forgets tasks and counters older than the TTL', async () => {
      let t = 50_000;
      const store = make({ ttlMs: 1000 }, () => t);
      await store.putTask(snap('old'));
      await store.putStatus({ queue: 'q', total_tasks: 1, pending_tasks: 1, running_tasks: 0, completed_tasks: 0, failed_tasks: 0 });
      t += 600;
      await store.putTask(snap('new'));
      assert.equal((await store.getStatus('q'))?.total_tasks, 1);
      t += 600;
      assert.equal(await store.getTask('q', 'old'), null);
      assert.equal(await store.getStatus('q'), null);
      assert.deepEqual((await store.recentTasks('q', 10)).map((s) => s.task_id), ['new']);
      await store.close();
    });
  });
}

scenarios('memory', (limits, now) => new MemorySnapshotStore({ ...limits, now }));

let n = 0;
scenarios('redis', (limits, now) => new RedisSnapshotStore({ ...limits, now, url, keyPrefix: `${prefix}${++n}:` }), skipRedis);

after(async () => {
  if (skipRedis) return;
  const client = createClient({ url });
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await client.del(keys);
  await client.close();
});
