import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CONFIG_KEYS, DEFAULTS, ENV_VARS, PRESET_NAMES, PRESETS, SERVER_OPTION_KEYS, flagName, serverOptions, type ConfigKey } from '../../src/ops/config.ts';
import { resolveOptions } from '../../src/server/options.ts';
import { PUSH_DEDUP_DEFAULTS } from '../../src/server/recovery/push-dedup.ts';
import { HISTORY_LIMIT_DEFAULTS, MemoryHistoryStore } from '../../src/broker/history-memory.ts';
import { ConfigError, loadServeConfig, resolveServeConfig } from '../../src/ops/config-load.ts';
import { addConfigOptions, explicitFlags } from '../../src/ops/config-flags.ts';
import { Command } from 'commander';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

async function configErrorAsync(fn: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('resolveServeConfig', () => {
  test('no input gives the documented defaults', () => {
    const { config, origins } = resolveServeConfig({});
    assert.deepEqual(config, DEFAULTS);
    assert.ok(CONFIG_KEYS.every((k) => origins[k] === 'default'));
  });

  test('precedence: flags > env > file > preset > defaults', () => {
    const { config, origins } = resolveServeConfig({
      file: {
        path: '/app/tether.config.json',
        values: { preset: 'low-memory', port: 1111, host: '0.0.0.0', maxChannelsPerConnection: 7 },
      },
      env: { PORT: '2222', LOG_LEVEL: 'debug' },
      flags: { port: '3333' },
    });
    assert.equal(config.port, 3333);
    assert.equal(origins.port, 'flag');
    assert.equal(config.logLevel, 'debug');
    assert.equal(origins.logLevel, 'env');
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.maxChannelsPerConnection, 7, 'file beats preset');
    assert.equal(origins.maxChannelsPerConnection, 'file');
    assert.equal(config.maxFrameBytes, PRESETS['low-memory'].maxFrameBytes, 'preset beats default');
    assert.equal(origins.maxFrameBytes, 'preset');
    assert.equal(config.mount, DEFAULTS.mount);
  });

  test('the preset is chosen by the highest layer that names one', () => {
    const file = { path: 'tether.config.json', values: { preset: 'low-memory' } };
    assert.equal(resolveServeConfig({ file }).config.outboundBudgetBytes, PRESETS['low-memory'].outboundBudgetBytes);
    const viaEnv = resolveServeConfig({ file, env: { TETHER_PRESET: 'high-throughput' } }).config;
    assert.equal(viaEnv.preset, 'high-throughput');
    assert.equal(viaEnv.outboundBudgetBytes, PRESETS['high-throughput'].outboundBudgetBytes);
    assert.equal(viaEnv.maxFrameBytes, DEFAULTS.maxFrameBytes, 'nothing of the file-named preset remains');
  });

  test('environment strings convert to numbers, booleans and lists', () => {
    const { config } = resolveServeConfig({
      env: {
        TETHER_IDLE_TIMEOUT_MS: '15000',
        TETHER_DASHBOARD: 'off',
        TETHER_ALLOWED_ORIGINS: 'https://a.example, https://b.example,',
        REDIS_URL: 'redis://127.0.0.1:6379',
        TETHER_ADMIN_TOKEN: 'adm',
        PORT: '',
      },
    });
    assert.equal(config.idleTimeoutMs, 15000);
    assert.equal(config.dashboard, false);
    assert.deepEqual(config.allowedOrigins, ['https://a.example', 'https://b.example']);
    assert.equal(config.redis, 'redis://127.0.0.1:6379');
    assert.equal(config.adminToken, 'adm');
    assert.equal(config.port, DEFAULTS.port, 'an empty variable counts as unset');
  });

  test('TETHER_ALLOWED_ORIGINS=false turns the origin check off; serverOptions passes the server keys only', () => {
    const { config } = resolveServeConfig({ env: { TETHER_ALLOWED_ORIGINS: 'false', TETHER_TOKEN: 't' } });
    assert.equal(config.allowedOrigins, false);
    const options = serverOptions(config);
    assert.equal(options.allowedOrigins, false);
    assert.equal(options.maxFrameBytes, DEFAULTS.maxFrameBytes);
    assert.ok(!('token' in options) && !('logLevel' in options) && !('preset' in options));
  });

  test('every createServer option with a default is a config key with the same default; dedup, history and compression keys nest', () => {
    const resolved = resolveOptions({ channels: {} }) as Record<string, unknown>;
    const mirrored = new Set<string>(SERVER_OPTION_KEYS);
    for (const [key, value] of Object.entries(resolved)) {
      if (key === 'channels') continue;
      if (key === 'compression') {
        // Nests like dedup and history: the compression* keys build createServer's `compression`, off by default.
        assert.equal(serverOptions(DEFAULTS).compression, value);
        continue;
      }
      assert.ok(mirrored.has(key), `createServer option ${key} is not exposed by the ops config`);
      if (key === 'outboundHardCapBytes') {
        // Derived from the budget on both sides: unset in the config, so createServer derives the same value.
        assert.equal(DEFAULTS.outboundHardCapBytes, undefined);
        assert.equal(resolveOptions({ channels: {}, ...serverOptions(DEFAULTS) }).outboundHardCapBytes, value);
        continue;
      }
      assert.equal(DEFAULTS[key as ConfigKey], value, `default of ${key}`);
    }
    assert.deepEqual(serverOptions(DEFAULTS).dedup, { ...PUSH_DEDUP_DEFAULTS });
    // The history keys nest as createServer's `history`, with the memory store's own defaults.
    assert.deepEqual(serverOptions(DEFAULTS).history, { ...HISTORY_LIMIT_DEFAULTS });
    assert.equal(new MemoryHistoryStore(serverOptions(DEFAULTS).history).limits.idleMs, undefined);
    const withIdle = serverOptions(resolveServeConfig({ env: { TETHER_HISTORY_IDLE_MS: '30000' }, flags: { historyMaxTopicBytes: '4096' } }).config);
    assert.deepEqual(withIdle.history, { ...HISTORY_LIMIT_DEFAULTS, maxTopicBytes: 4096, idleMs: 30000 });
    resolveOptions({ channels: {}, ...withIdle });
    const { config } = resolveServeConfig({
      env: { TETHER_DEDUP_WINDOW_SIZE: '64', TETHER_MESSAGES_PER_SECOND: '50' },
      flags: { dedupTtlMs: '1000', joinBurst: '5', closeGraceMs: '0' },
    });
    const options = serverOptions(config);
    assert.deepEqual(options.dedup, { maxEntriesPerClient: 64, ttlMs: 1000, maxClients: PUSH_DEDUP_DEFAULTS.maxClients });
    assert.deepEqual([options.messagesPerSecond, options.joinBurst, options.closeGraceMs], [50, 5, 0]);
    assert.ok(!('dedupWindowSize' in options));
    resolveOptions({ channels: {}, ...options });
  });

  test('redisPrefix and nodeId come from flags or the environment and are validated', () => {
    assert.equal(DEFAULTS.redisPrefix, 'tether:');
    assert.equal(DEFAULTS.nodeId, undefined);
    const { config } = resolveServeConfig({ env: { TETHER_REDIS_PREFIX: 'blue:', TETHER_NODE_ID: 'env-node' }, flags: { nodeId: 'web-1' } });
    assert.deepEqual([config.redisPrefix, config.nodeId], ['blue:', 'web-1']);
    const err = configError(() => resolveServeConfig({ env: { TETHER_REDIS_PREFIX: '{x}' }, flags: { nodeId: 'has space' } }));
    assert.match(err.message, /environment: TETHER_REDIS_PREFIX: must be non-empty, without spaces, "\{" or "\}"/);
    assert.match(err.message, /flags: --node-id: must be 1-64 characters/);
  });

  test('redisCluster takes comma-separated seed URLs, and with redis it is a usage error (exit 2)', () => {
    const { config } = resolveServeConfig({ env: { TETHER_REDIS_CLUSTER: 'redis://a:7000, redis://b:7001' } });
    assert.deepEqual(config.redisCluster, ['redis://a:7000', 'redis://b:7001']);
    assert.equal(resolveServeConfig({ flags: { redisCluster: 'rediss://a:7000' } }).config.redisCluster?.length, 1);
    const bad = configError(() => resolveServeConfig({ flags: { redisCluster: 'http://a:7000' } }));
    assert.match(bad.message, /flags: --redis-cluster/);
    const both = configError(() => resolveServeConfig({ env: { REDIS_URL: 'redis://r:6379' }, flags: { redisCluster: 'redis://a:7000' } }));
    assert.equal(both.exitCode, 2);
    assert.match(both.message, /REDIS_URL \(env\) and --redis-cluster \(flag\) are both set: use --redis for one Redis or --redis-cluster for a Redis Cluster, not both/);
  });

  test('workers takes a count or "auto" from flag, env or file, and needs redis or redisCluster (exit 2)', () => {
    const redis = { REDIS_URL: 'redis://r:6379' };
    assert.equal(resolveServeConfig({ env: redis, flags: { workers: '3' } }).config.workers, 3);
    assert.equal(resolveServeConfig({ env: { ...redis, TETHER_WORKERS: 'auto' } }).config.workers, 'auto');
    assert.equal(resolveServeConfig({ file: { path: 't.json', values: { workers: 2, redisCluster: ['redis://a:7000'] } } }).config.workers, 2);
    for (const bad of ['0', '-1', '1.5', 'all', '257']) {
      assert.match(configError(() => resolveServeConfig({ env: redis, flags: { workers: bad } })).message, /flags: --workers: must be (at least 1|at most 256|"auto" or a whole number from 1 to 256)/, bad);
    }
    const alone = configError(() => resolveServeConfig({ flags: { workers: '2' } }));
    assert.equal(alone.exitCode, 2);
    assert.match(alone.message, /workers: needs --redis or --redis-cluster: the embedded memory broker cannot cross processes/);
  });

  test('--tasks takes several queues (tether serve --tasks QUEUE…), each word also a comma list, as the variable and the key do', () => {
    const command = addConfigOptions(new Command('serve').exitOverride());
    command.parse(['--tasks', 'emails', 'images,video', '--port', '0'], { from: 'user' });
    const flags = explicitFlags(command);
    assert.deepEqual(flags.tasks, ['emails', 'images,video']);
    assert.deepEqual(resolveServeConfig({ flags }).config.tasks, ['emails', 'images', 'video']);
    assert.deepEqual(resolveServeConfig({ flags: { tasks: 'emails,images' } }).config.tasks, ['emails', 'images'], 'one comma list');
    assert.deepEqual(resolveServeConfig({ env: { TETHER_TASKS: 'emails, images' } }).config.tasks, ['emails', 'images']);
    assert.deepEqual(resolveServeConfig({ file: { path: 'tether.config.json', values: { tasks: ['emails', 'images'] } } }).config.tasks, ['emails', 'images']);
    assert.match(configError(() => resolveServeConfig({ flags: { tasks: ['emails', 'bad:name'] } })).message, /--tasks\.1: queue names/);
  });

  test('flags that are not config keys are ignored, undefined flags do not override', () => {
    const { config } = resolveServeConfig({ env: { PORT: '5000' }, flags: { config: 'x.json', port: undefined } });
    assert.equal(config.port, 5000);
  });

  test('an unknown key is named, with a suggestion and the allowed keys', () => {
    const err = configError(() =>
      resolveServeConfig({ file: { path: '/app/tether.config.json', values: { maxConections: 5 } } }),
    );
    assert.equal(err.issues.length, 1);
    assert.deepEqual(
      { source: err.issues[0].source, key: err.issues[0].key },
      { source: 'tether.config.json', key: 'maxConections' },
    );
    assert.match(err.issues[0].message, /unknown key \(did you mean "maxConnections"\?\)/);
    assert.match(err.issues[0].message, /allowed keys: preset, port, host/);
  });

  test('an enum error lists the allowed values and names the source of the bad value', () => {
    const err = configError(() => resolveServeConfig({ env: { LOG_LEVEL: 'loud' }, flags: { preset: 'fast' } }));
    const env = err.issues.find((i) => i.source === 'environment');
    assert.equal(env?.key, 'LOG_LEVEL');
    assert.match(env?.message ?? '', /must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" \(got "loud"\)/);
    const flag = err.issues.find((i) => i.source === 'flags');
    assert.equal(flag?.key, '--preset');
    assert.match(flag?.message ?? '', /"standard", "high-throughput", "low-memory"/);
    assert.match(err.message, /^Invalid configuration:\n {2}environment: LOG_LEVEL:/);
  });

  test('every issue across layers is reported at once', () => {
    const err = configError(() =>
      resolveServeConfig({
        file: { path: 'tether.config.json', values: { port: 70000, redis: 'http://x', maxFrameBytes: 0 } },
        env: { PORT: 'abc', TETHER_METRICS: 'maybe' },
      }),
    );
    const got = err.issues.map((i) => `${i.source} ${i.key}`).sort();
    assert.deepEqual(got, [
      'environment PORT',
      'environment TETHER_METRICS',
      'tether.config.json maxFrameBytes',
      'tether.config.json port',
      'tether.config.json redis',
    ]);
    assert.match(err.issues.find((i) => i.key === 'port')?.message ?? '', /at most 65535 \(got 70000\)/);
    assert.match(err.issues.find((i) => i.key === 'PORT')?.message ?? '', /expected a number \(got "abc"\)/);
  });

  test('outboundHardCapBytes below the budget is a configuration error naming where it came from', () => {
    const err = configError(() => resolveServeConfig({ env: { TETHER_OUTBOUND_HARD_CAP_BYTES: '1000' }, flags: { outboundBudgetBytes: '2000' } }));
    assert.match(err.message, /outboundHardCapBytes/);
    assert.match(err.message, /at least outboundBudgetBytes \(2000\)/);
    assert.equal(resolveServeConfig({ flags: { outboundHardCapBytes: '3000', outboundBudgetBytes: '2000' } }).config.outboundHardCapBytes, 3000);
  });

  test('a bad token value is reported without echoing it', () => {
    const err = configError(() => resolveServeConfig({ file: { path: 'c.json', values: { token: 12345 } } }));
    assert.equal(err.issues[0].key, 'token');
    assert.doesNotMatch(err.message, /12345/);
  });

  test('compression is off in every preset; its flag, variable and file keys build createServer\'s compression', () => {
    for (const preset of PRESET_NAMES) {
      assert.equal(serverOptions(resolveServeConfig({ flags: { preset } }).config).compression, false, preset);
    }
    const { config, origins } = resolveServeConfig({
      file: { path: 'tether.config.json', values: { compressionLevel: 2 } },
      env: { TETHER_COMPRESSION: 'true', TETHER_COMPRESSION_MEM_LEVEL: '4' },
      flags: { preset: 'high-throughput', compressionThresholdBytes: '256', compressionConcurrency: '3' },
    });
    assert.deepEqual(serverOptions(config).compression, { thresholdBytes: 256, level: 2, memLevel: 4, concurrency: 3 });
    assert.deepEqual([origins.compression, origins.compressionLevel, origins.compressionThresholdBytes], ['env', 'file', 'flag']);
    resolveOptions({ channels: {}, ...serverOptions(config) });
    assert.throws(() => resolveServeConfig({ flags: { compressionLevel: '10' } }), /--compression-level: must be at most 9/);
  });

  test('every key has an environment variable and a flag, and presets only name real keys', () => {
    for (const key of CONFIG_KEYS) {
      assert.match(ENV_VARS[key], /^[A-Z_]+$/);
      assert.match(flagName(key), /^--[a-z-]+$/);
    }
    for (const preset of Object.values(PRESETS)) {
      for (const key of Object.keys(preset)) assert.ok(CONFIG_KEYS.includes(key as never), key);
    }
  });
});

describe('loadServeConfig (config files)', () => {
  const dirs: string[] = [];
  const dir = (files: Record<string, string>) => {
    const d = mkdtempSync(join(tmpdir(), 'tether-config-'));
    dirs.push(d);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('reads tether.config.json from the working directory', async () => {
    const cwd = dir({ 'tether.config.json': JSON.stringify({ port: 4100, preset: 'high-throughput' }) });
    const { config, file, origins } = await loadServeConfig({ cwd, env: {} });
    assert.equal(config.port, 4100);
    assert.equal(config.logLevel, 'warn');
    assert.equal(origins.port, 'file');
    assert.equal(file, join(cwd, 'tether.config.json'));
  });

  test('reads a TypeScript config exporting a typed object', async () => {
    const cwd = dir({
      'tether.config.ts': `import type { ServeConfig } from ${JSON.stringify(join(process.cwd(), 'src/ops/config.ts'))};\n` +
        `const config: Partial<ServeConfig> = { mount: '/live', maxChannelsPerConnection: 12 };\nexport default config;\n`,
    });
    const { config } = await loadServeConfig({ cwd, env: {} });
    assert.equal(config.mount, '/live');
    assert.equal(config.maxChannelsPerConnection, 12);
  });

  test('reads a JavaScript config exporting an async function; --config picks a file by path', async () => {
    const cwd = dir({ 'ops.mjs': 'export default async () => ({ host: "0.0.0.0" });\n' });
    const { config } = await loadServeConfig({ cwd, env: {}, flags: { config: 'ops.mjs' } });
    assert.equal(config.host, '0.0.0.0');
  });

  test('no file is fine; a missing --config path, two candidate files, bad JSON and a non-object are errors', async () => {
    assert.equal((await loadServeConfig({ cwd: dir({}), env: {} })).file, undefined);
    const missing = await configErrorAsync(() => loadServeConfig({ cwd: dir({}), env: {}, flags: { config: 'nope.json' } }));
    assert.equal(missing.issues[0].key, '--config');
    const two = await configErrorAsync(() =>
      loadServeConfig({ cwd: dir({ 'tether.config.json': '{}', 'tether.config.js': 'export default {}' }), env: {} }),
    );
    assert.match(two.message, /tether\.config\.js, tether\.config\.json; keep one or pass --config/);
    const bad = await configErrorAsync(() => loadServeConfig({ cwd: dir({ 'tether.config.json': '{port: 1' }), env: {} }));
    assert.match(bad.message, /tether\.config\.json: \(file\): cannot be read/);
    const arr = await configErrorAsync(() => loadServeConfig({ cwd: dir({ 'tether.config.json': '[1]' }), env: {} }));
    assert.match(arr.message, /must contain a JSON object/);
  });

  test('a file value is still overridden by the environment', async () => {
    const cwd = dir({ 'tether.config.json': JSON.stringify({ port: 4100 }) });
    const { config } = await loadServeConfig({ cwd, env: { PORT: '4200' } });
    assert.equal(config.port, 4200);
  });
});
