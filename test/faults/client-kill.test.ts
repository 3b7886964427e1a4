/**
 * Scenario 3: the client process is SIGKILLed with 1,000 pushes in its SQLite outbox, many of them sent but
 * not yet acknowledged. After a restart on the same file the server's handler has run exactly once for each:
 * the resends of pushes that already ran are answered from the server's de-duplication window.
 *
 * Sizes: TETHER_FAULT_SCALE (default 1 = 1,000 pushes; the handler takes 5 ms, so most are in flight at the kill).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFixture, type FixtureProcess } from './harness/processes.ts';
import { FaultTable } from './harness/table.ts';

const scale = Number(process.env.TETHER_FAULT_SCALE ?? 1);
const PUSHES = Math.max(200, Math.round(1_000 * scale));
const table = new FaultTable();
after(() => table.print());

test('client SIGKILL with pushes sent but unacknowledged: after restart each handler ran exactly once', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-outbox-'));
  const procs: FixtureProcess[] = [];
  try {
    const server = await startFixture('server', 'stream-server.ts', { WORK_DELAY_MS: '5' });
    procs.push(server.proc);
    const env = {
      URL: `ws://127.0.0.1:${server.ready.port as number}/socket`,
      DB: join(dir, 'outbox.db'),
      CLIENT_ID: `device-${randomUUID().slice(0, 8)}`,
      TOPIC: 'work:1',
    };
    const first = await startFixture('client', 'outbox-client.ts', { ...env, COUNT: String(PUSHES) });
    procs.push(first.proc);
    const atKill = await first.proc.next('progress', 60_000, (m) => (m.acked as number) >= PUSHES * 0.3);
    await first.proc.kill();
    const restartedAt = Date.now();
    const second = await startFixture('client (restarted)', 'outbox-client.ts', { ...env, COUNT: '0' });
    procs.push(second.proc);
    const restored = second.ready.restored as number;
    await second.proc.next('progress', 60_000, (m) => (m.depth as number) === 0);
    const recoverMs = Date.now() - restartedAt;
    // The last resends' handlers may still be finishing: wait until every push ran.
    let runs = new Map<number, number>();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      runs = new Map((await server.proc.request('stats')).runs as [number, number][]);
      if (runs.size >= PUSHES) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    let duplicates = 0;
    let lost = 0;
    for (let n = 1; n <= PUSHES; n++) {
      const k = runs.get(n) ?? 0;
      if (k === 0) lost++;
      else duplicates += k - 1;
    }
    table.add({
      scenario: '3. client SIGKILL, SQLite outbox',
      sent: PUSHES,
      received: runs.size,
      duplicates,
      lost,
      recoverMs,
      note: `acked before the kill ${atKill.acked as number}; restored from SQLite ${restored} (sent, unacked); handler runs counted on the server`,
    });
    assert.ok(restored > 0 && restored < PUSHES, `some pushes were unacknowledged at the kill (${restored})`);
    assert.equal(lost, 0, 'every push ran');
    assert.equal(duplicates, 0, 'no push ran twice');
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  }
});
