import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addConfigOptions, explicitFlags } from '../../src/ops/config-flags.ts';
import { resolveServeConfig } from '../../src/ops/config-load.ts';
import { CONFIG_KEYS, DEFAULTS } from '../../src/ops/config.ts';

function command(): Command {
  const cmd = new Command('serve').exitOverride().option('-p, --port <port>', 'port', Number, 4000).option('--token <secret>', 'token');
  return addConfigOptions(cmd);
}

test('every key gets a flag, keeping the ones the command already declares', () => {
  const cmd = command();
  const names = cmd.options.map((o) => o.attributeName());
  for (const key of CONFIG_KEYS) assert.ok(names.includes(key), key);
  assert.equal(names.filter((n) => n === 'port').length, 1);
  assert.ok(names.includes('config'));
  assert.ok(cmd.options.some((o) => o.long === '--no-dashboard'));
});

test('the help of every flag with a default value states it (the standard preset\'s)', () => {
  const cmd = command();
  for (const key of CONFIG_KEYS) {
    const value = DEFAULTS[key];
    if (value === undefined || typeof value === 'boolean') continue;
    const option = cmd.options.find((o) => o.attributeName() === key)!;
    if (option.description === 'port') continue; // declared by the command itself here
    assert.match(option.description, /\bdefault\b/, `${key}: ${option.description}`);
  }
  assert.match(cmd.options.find((o) => o.attributeName() === 'outboundBudgetBytes')!.description, /default 4194304\)$/);
});

test('only typed flags count: defaults do not override the environment', () => {
  const cmd = command();
  cmd.parse(['--no-dashboard', '--max-frame-bytes', '2048', '--config', 'x.json', '--allowed-origins', 'https://a.example'], { from: 'user' });
  const flags = explicitFlags(cmd);
  assert.deepEqual(flags, { dashboard: false, maxFrameBytes: '2048', config: 'x.json', allowedOrigins: 'https://a.example' });
  const { config, origins } = resolveServeConfig({ env: { PORT: '4100' }, flags });
  assert.equal(config.port, 4100, "the command's own --port default did not win over PORT");
  assert.equal(origins.port, 'env');
  assert.equal(config.maxFrameBytes, 2048);
  assert.equal(config.dashboard, false);
  assert.deepEqual(config.allowedOrigins, ['https://a.example']);
});

test('a typed flag beats the environment', () => {
  const cmd = command();
  cmd.parse(['--port', '4200', '--log-level', 'debug'], { from: 'user' });
  const { config } = resolveServeConfig({ env: { PORT: '4100', LOG_LEVEL: 'warn' }, flags: explicitFlags(cmd) });
  assert.equal(config.port, 4200);
  assert.equal(config.logLevel, 'debug');
});
