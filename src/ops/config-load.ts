/**
 * Resolves the configuration of `tether serve` from its layers, lowest first: defaults, the chosen preset,
 * a config file, environment variables, command-line flags. Every layer is validated on its own so an error
 * names where the bad value came from; any error stops the server before it listens.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import {
  CONFIG_KEYS,
  DEFAULTS,
  ENV_VARS,
  PRESETS,
  flagName,
  serveConfigSchema,
  valueKind,
  type ConfigKey,
  type ServeConfig,
  type ValueKind,
} from './config.ts';

export type ConfigSource = 'default' | 'preset' | 'file' | 'env' | 'flag';

export interface ConfigIssue {
  /** Where the value came from: a file name, `environment`, `flags`, or `resolved` for the merged result. */
  source: string;
  /** The key as the user wrote it: the config key, the variable name or the flag. */
  key: string;
  message: string;
}

/** Invalid configuration; the message lists every issue, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** What a CLI should exit with: 2, a usage error, like a bad flag. */
  readonly exitCode = 2;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(
      `Invalid configuration:\n${issues.map((i) => `  ${i.source}: ${i.key}: ${i.message}`).join('\n')}`,
    );
    this.issues = issues;
  }
}

export interface ConfigFile {
  path: string;
  values: Record<string, unknown>;
}

export interface ResolveInput {
  file?: ConfigFile;
  env?: Record<string, string | undefined>;
  /** Parsed command-line options; keys that are not config keys (e.g. `config`) are ignored. */
  flags?: Record<string, unknown>;
}

export interface ResolvedConfig {
  config: ServeConfig;
  /** Which layer supplied each key's final value. */
  origins: Record<ConfigKey, ConfigSource>;
  file: string | undefined;
}

export const CONFIG_FILE_NAMES = ['tether.config.ts', 'tether.config.js', 'tether.config.json'] as const;

/**
 * Finds and loads the config file: `explicitPath` if given (it must exist), else the one
 * `tether.config.{ts,js,json}` in `cwd` (two of them is an error). A .ts or .js file default-exports the
 * object or a (possibly async) function returning it.
 */
export async function loadConfigFile(cwd: string, explicitPath?: string): Promise<ConfigFile | undefined> {
  let path: string;
  if (explicitPath !== undefined) {
    path = resolve(cwd, explicitPath);
    if (!existsSync(path)) throw new ConfigError([{ source: 'flags', key: '--config', message: `no file at ${path}` }]);
  } else {
    const found = CONFIG_FILE_NAMES.map((name) => resolve(cwd, name)).filter((p) => existsSync(p));
    if (found.length === 0) return undefined;
    if (found.length > 1) {
      const names = found.map((p) => basename(p)).join(', ');
      throw new ConfigError([{ source: cwd, key: 'config file', message: `found ${names}; keep one or pass --config` }]);
    }
    path = found[0];
  }
  const source = basename(path);
  let values: unknown;
  try {
    if (path.endsWith('.json')) {
      values = JSON.parse(await readFile(path, 'utf8'));
    } else {
      const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
      values = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
    }
  } catch (err) {
    throw new ConfigError([{ source, key: '(file)', message: `cannot be read: ${(err as Error).message}` }]);
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    const what = path.endsWith('.json') ? 'contain a JSON object' : 'default-export an object';
    throw new ConfigError([{ source, key: '(file)', message: `must ${what}` }]);
  }
  return { path, values: values as Record<string, unknown> };
}

/** Loads the config file (`flags.config` or the one in cwd) and resolves every layer. */
export async function loadServeConfig(options: {
  cwd?: string;
  env?: Record<string, string | undefined>;
  flags?: Record<string, unknown>;
}): Promise<ResolvedConfig> {
  const flags = options.flags ?? {};
  const configPath = typeof flags.config === 'string' ? flags.config : undefined;
  const file = await loadConfigFile(options.cwd ?? process.cwd(), configPath);
  return resolveServeConfig({ file, env: options.env ?? process.env, flags });
}

/** Merges and validates the layers; throws ConfigError naming every bad key and where it came from. */
export function resolveServeConfig(input: ResolveInput): ResolvedConfig {
  const issues: ConfigIssue[] = [];
  const fileSource = input.file ? basename(input.file.path) : '';
  const fileLayer = input.file ? checkLayer(input.file.values, fileSource, (k) => k, issues) : {};
  const envLayer = checkLayer(fromStrings(envValues(input.env ?? {})), 'environment', (k) => ENV_VARS[k], issues);
  const flagLayer = checkLayer(fromStrings(flagValues(input.flags ?? {})), 'flags', flagName, issues);
  if (issues.length > 0) throw new ConfigError(issues);

  const preset = flagLayer.preset ?? envLayer.preset ?? fileLayer.preset ?? DEFAULTS.preset;
  const layers: [ConfigSource, Partial<ServeConfig>][] = [
    ['preset', PRESETS[preset]],
    ['file', fileLayer],
    ['env', envLayer],
    ['flag', flagLayer],
  ];
  const merged: Record<string, unknown> = { ...DEFAULTS };
  const origins = Object.fromEntries(CONFIG_KEYS.map((k) => [k, 'default'])) as Record<ConfigKey, ConfigSource>;
  for (const [source, layer] of layers) {
    for (const key of CONFIG_KEYS) {
      if (layer[key] !== undefined) {
        merged[key] = layer[key];
        origins[key] = source;
      }
    }
  }
  merged.preset = preset;
  const result = serveConfigSchema.safeParse(merged, { reportInput: true });
  if (!result.success) throw new ConfigError(toIssues(result.error, 'resolved', (k) => k));
  const { outboundHardCapBytes: cap, outboundBudgetBytes: budget } = result.data;
  if (cap !== undefined && cap < budget) {
    throw new ConfigError([{ source: origins.outboundHardCapBytes, key: 'outboundHardCapBytes', message: `must be at least outboundBudgetBytes (${budget})` }]);
  }
  if (result.data.redis !== undefined && result.data.redisCluster !== undefined) {
    const where = (k: ConfigKey) => `${origins[k] === 'flag' ? flagName(k) : origins[k] === 'env' ? ENV_VARS[k] : k} (${origins[k]})`;
    throw new ConfigError([{
      source: 'resolved',
      key: 'redis, redisCluster',
      message: `${where('redis')} and ${where('redisCluster')} are both set: use --redis for one Redis or --redis-cluster for a Redis Cluster, not both`,
    }]);
  }
  if (result.data.workers !== undefined && result.data.redis === undefined && result.data.redisCluster === undefined) {
    throw new ConfigError([{
      source: origins.workers,
      key: 'workers',
      message: 'needs --redis or --redis-cluster: the embedded memory broker cannot cross processes, so workers would not see each other',
    }]);
  }
  return { config: result.data, origins, file: input.file?.path };
}

function checkLayer(
  values: Record<string, unknown>,
  source: string,
  label: (key: ConfigKey) => string,
  issues: ConfigIssue[],
): Partial<ServeConfig> {
  const result = serveConfigSchema.partial().safeParse(values, { reportInput: true });
  if (result.success) return result.data;
  issues.push(...toIssues(result.error, source, label));
  return {};
}

function toIssues(error: z.ZodError, source: string, label: (key: ConfigKey) => string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = closestKey(key);
        out.push({
          source,
          key,
          message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed keys: ${CONFIG_KEYS.join(', ')}`,
        });
      }
      continue;
    }
    const [top, ...rest] = issue.path.map(String);
    const key = top === undefined ? '(root)' : [label(top as ConfigKey), ...rest].join('.');
    out.push({ source, key, message: describe(issue, SECRET_KEYS.has(top ?? '')) });
  }
  return out;
}

const SECRET_KEYS = new Set<string>(['token', 'adminToken', 'longPollSecret']);

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  string: 'a string',
  array: 'a list of strings',
};

function describe(issue: z.core.$ZodIssue, secret: boolean): string {
  const shown = !secret && 'input' in issue && issue.input !== undefined;
  const got = shown ? ` (got ${JSON.stringify(issue.input)})` : '';
  switch (issue.code) {
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}`;
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}${got}`;
    case 'too_small':
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${String(issue.minimum)}${got}`;
    case 'too_big':
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}${got}`;
    default:
      return `${issue.message}${got}`;
  }
}

function envValues(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const raw = env[ENV_VARS[key]];
    if (raw !== undefined && raw !== '') out[key] = raw;
  }
  return out;
}

function flagValues(flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) if (flags[key] !== undefined) out[key] = flags[key];
  return out;
}

/** Converts strings (environment, flags) to the key's type; what does not convert is left for validation to reject. */
function fromStrings(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key] = typeof value === 'string' ? convert(valueKind(key as ConfigKey), value.trim()) : value;
  }
  return out;
}

function convert(kind: ValueKind, raw: string): unknown {
  switch (kind) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      return raw;
    case 'list':
      // allowedOrigins: "false" (or "off") turns the origin check off; redisCluster rejects it as a URL list.
      if (/^(false|off)$/i.test(raw)) return false;
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'string':
      return raw;
  }
}

function closestKey(unknown: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const key of CONFIG_KEYS) {
    const d = editDistance(unknown.toLowerCase(), key.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [key, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
