/**
 * Proves the benchmark harness end to end in its tiny mode: real target processes (raw ws, Socket.IO, Tether),
 * real load workers, every workload, and sane numbers in the JSON and markdown it writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row, Table } from '../../bench/lib/report.ts';

const TARGETS = ['ws', 'socketio', 'tether'] as const;

function runBench(out: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bench/run.ts', '--tiny', '--out', out, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 40_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function rows(tables: Table[], workload: string, metric: string): Row[] {
  const table = tables.find((t) => t.workload === workload);
  assert.ok(table, `no ${workload} table`);
  const found = table.rows.filter((r) => r.metric === metric);
  assert.ok(found.length > 0, `no "${metric}" row in ${workload}`);
  return found;
}

test('bench --tiny runs every workload against all three targets and reports sane numbers', { timeout: 45_000 }, async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'tether-bench-'));
  try {
    const { code, output } = await runBench(outDir);
    assert.equal(code, 0, output);
    const files = readdirSync(outDir);
    const json = files.find((f) => f.endsWith('.json'));
    const md = files.find((f) => f.endsWith('.md'));
    assert.ok(json && md, `expected a .json and a .md in ${files.join(', ')}`);
    const { tables } = JSON.parse(readFileSync(join(outDir, json), 'utf8')) as { tables: Table[] };
    assert.deepEqual(tables.map((t) => t.workload), ['capacity', 'fanout', 'reqreply', 'churn']);

    for (const kind of TARGETS) {
      for (const row of rows(tables, 'capacity', 'connect+join /s')) assert.ok(row.values[kind]! > 0, `${kind} connect rate`);
      for (const row of rows(tables, 'capacity', 'server RSS MiB')) assert.ok(row.values[kind]! > 10, `${kind} RSS`);
      for (const row of rows(tables, 'fanout', 'delivered/s')) assert.ok(row.values[kind]! > 0, `${kind} deliveries`);
      for (const row of rows(tables, 'fanout', 'loss %')) assert.equal(row.values[kind], 0, `${kind} lost messages`);
      for (const row of rows(tables, 'fanout', 'p99 ms')) assert.ok(row.values[kind]! > 0 && row.values[kind]! < 2_000, `${kind} p99`);
      for (const row of rows(tables, 'reqreply', 'round trips/s')) assert.ok(row.values[kind]! > 0, `${kind} round trips`);
      for (const row of rows(tables, 'churn', 'cycles/s')) assert.ok(row.values[kind]! > 0, `${kind} churn`);
      for (const row of rows(tables, 'churn', 'failed cycles')) assert.equal(row.values[kind], 0, `${kind} churn failures`);
      for (const row of rows(tables, 'churn', 'connections held after')) assert.equal(row.values[kind], 0, `${kind} kept connections`);
      for (const row of rows(tables, 'churn', 'topics held after')) assert.equal(row.values[kind], 0, `${kind} kept topics`);
    }

    const markdown = readFileSync(join(outDir, md), 'utf8');
    assert.match(markdown, /\| scenario \| metric \| raw ws \| Socket\.IO \| Tether \| Tether\/ws \| Tether\/Socket\.IO \|/);
    assert.match(markdown, /### Fan-out/);
    assert.match(output, /== Request\/reply/);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('bench --only hold spreads the connections over several server processes and counts them at each server', { timeout: 45_000 }, async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'tether-bench-hold-'));
  try {
    const { code, output } = await runBench(join(outDir, 'hold.md'), '--only', 'hold', '--hold', '150', '--hold-per-process', '60');
    assert.equal(code, 0, output);
    assert.deepEqual(readdirSync(outDir).sort(), ['hold.json', 'hold.md']);
    const { tables } = JSON.parse(readFileSync(join(outDir, 'hold.json'), 'utf8')) as { tables: Table[] };
    assert.deepEqual(tables.map((t) => t.workload), ['hold']);
    assert.match(tables[0].footnotes[0], /^150 idle, 3 processes: 3 server processes per target \(50 \+ 50 \+ 50 connections\)/);
    for (const kind of TARGETS) {
      for (const row of rows(tables, 'hold', "held (servers' own count)")) assert.equal(row.values[kind], 150, `${kind} held`);
      for (const row of rows(tables, 'hold', 'connect+join /s')) assert.ok(row.values[kind]! > 0, `${kind} connect rate`);
      for (const row of rows(tables, 'hold', 'server RSS MiB, summed')) assert.ok(row.values[kind]! > 30, `${kind} RSS`);
    }
    assert.match(output, /tether: 150 held \(50 \+ 50 \+ 50\)/);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('bench --only tasks: watchers over the load workers get the coalesced and the uncoalesced progress of a producer process', { timeout: 45_000 }, async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'tether-bench-tasks-'));
  try {
    const { code, output } = await runBench(join(outDir, 'tasks.md'), '--only', 'tasks', '--workers', '2', '--watchers', '20', '--tasks-rate', '200', '--tasks', '4');
    assert.equal(code, 0, output);
    const { tables } = JSON.parse(readFileSync(join(outDir, 'tasks.json'), 'utf8')) as { tables: Table[] };
    assert.deepEqual(tables.map((t) => t.workload), ['tasks']);
    const [on, off] = rows(tables, 'tasks', 'updates delivered/s');
    const [acceptedOn, acceptedOff] = rows(tables, 'tasks', 'reports accepted/s');
    assert.deepEqual([on.scenario, off.scenario], ['coalescing on', 'coalescing off']);
    assert.equal(acceptedOn.values.tether, 200);
    assert.equal(acceptedOff.values.tether, 200);
    // Off: every report reaches all 20 watchers (200 x 20 = 4,000 in the one second); on: at most 10 per task per second.
    assert.match(off.notes?.tether ?? '', /^100\.0 % of 4,000 due$/);
    assert.ok(on.values.tether! > 0 && on.values.tether! <= 4 * 10 * 20 * 1.5, `coalesced deliveries/s ${on.values.tether}`);
    for (const row of rows(tables, 'tasks', 'p99 ms report→watcher')) assert.ok(row.values.tether! >= 0, 'latency measured');
    assert.match(output, /tasks: tether/);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('bench --only longpoll: round trips and deliveries over long-poll next to WebSocket, every offered delivery arriving', { timeout: 45_000 }, async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'tether-bench-longpoll-'));
  try {
    const { code, output } = await runBench(join(outDir, 'longpoll.md'), '--only', 'longpoll', '--clients', '5', '--subscribers', '10', '--rates', '200');
    assert.equal(code, 0, output);
    const { tables } = JSON.parse(readFileSync(join(outDir, 'longpoll.json'), 'utf8')) as { tables: Table[] };
    assert.deepEqual(tables.map((t) => t.workload), ['longpoll']);
    for (const transport of ['websocket', 'longpoll']) {
      assert.ok(rows(tables, 'longpoll', `round trips/s (${transport})`)[0]!.values.tether! > 0, `${transport} round trips`);
      const [delivered] = rows(tables, 'longpoll', `deliveries/s (${transport})`);
      assert.match(delivered!.notes?.tether ?? '', /^100\.0 % of /, `${transport} deliveries`);
    }
    assert.ok(rows(tables, 'longpoll', 'round trips')[0]!.values.tether! > 0, 'the long-poll / WebSocket ratio');
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
