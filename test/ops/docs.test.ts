/** docs/operations.md stays in step with the code: every key, variable, default and metric is documented. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_KEYS, DEFAULTS, ENV_VARS, PRESETS, flagName } from '../../src/ops/config.ts';
import { ServerMetrics } from '../../src/ops/metrics.ts';

const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');

test('every config key has a row with its flag, variable and default', () => {
  for (const key of CONFIG_KEYS) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${key}\` | \``));
    assert.ok(row, `no row for ${key}`);
    const flag = DEFAULTS[key] === true ? `--no-${flagName(key).slice(2)}` : flagName(key);
    assert.ok(row.includes(`\`${flag}\``), `${key}: flag ${flag}`);
    assert.ok(row.includes(`\`${ENV_VARS[key]}\``), `${key}: variable`);
    const value = DEFAULTS[key];
    if (value !== undefined) assert.ok(row.includes(`\`${String(value)}\``), `${key}: default ${String(value)}`);
  }
});

test('every preset value is in the presets table', () => {
  const MiB = 1024 * 1024;
  const show = (v: unknown) => (typeof v === 'number' && v >= 65536 && v % 1024 === 0 ? (v % MiB === 0 ? `${v / MiB} MiB` : `${v / 1024} KiB`) : typeof v === 'string' ? `\`${v}\`` : String(v));
  for (const [name, preset] of Object.entries(PRESETS)) {
    for (const [key, value] of Object.entries(preset)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${key}\` | `) && line.split('|').length === 6);
      assert.ok(row, `no preset row for ${key}`);
      const column = ['standard', 'high-throughput', 'low-memory'].indexOf(name) + 2;
      assert.equal(row.split('|')[column].trim(), show(value), `${name}.${key}`);
    }
  }
});

test('every tether_ metric is documented', async () => {
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.length > 20);
  for (const name of names) assert.ok(doc.includes(`\`${name}\``), name);
});
