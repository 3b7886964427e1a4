/**
 * `npm run test:faults`: the fault-injection suite alone, one file at a time (they measure timing), then the
 * whole table. Extra arguments are passed to the test runner.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable, type FaultRow } from './harness/table.ts';

const dir = mkdtempSync(join(tmpdir(), 'tether-faults-'));
const results = join(dir, 'rows.jsonl');
const args = ['--test', '--test-concurrency=1', ...process.argv.slice(2), 'test/faults/*.test.ts'];
const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, FAULT_RESULTS: results } });
child.on('exit', (code) => {
  let rows: FaultRow[] = [];
  try {
    rows = readFileSync(results, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FaultRow);
  } catch {
    // No file: no scenario got as far as a row.
  }
  rows.sort((a, b) => a.scenario.localeCompare(b.scenario));
  console.log(`\nFault table (${new Date().toISOString()}, TETHER_FAULT_SCALE=${process.env.TETHER_FAULT_SCALE ?? 1}):\n\n${formatTable(rows)}\n`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(code ?? 1);
});
