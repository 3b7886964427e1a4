/** The command-line side of the serve configuration: one flag per config key, and only flags the user typed. */
import { Option, type Command } from 'commander';
import { CONFIG_HELP, CONFIG_KEYS, DEFAULTS, ENV_VARS, flagName, valueKind, type ConfigKey } from './config.ts';

/**
 * Adds `--config PATH` and a flag for every config key the command does not declare yet. Values stay strings
 * (validated with the other layers); booleans on by default get `--no-KEY`, those off by default `--KEY`. No defaults are set here, so a flag only counts
 * when typed and the environment and config file are not overridden by defaults.
 */
export function addConfigOptions(command: Command): Command {
  const declared = new Set(command.options.map((o) => o.attributeName()));
  if (!declared.has('config')) command.addOption(new Option('--config <path>', 'config file (default: tether.config.{ts,js,json} in the working directory)'));
  for (const key of CONFIG_KEYS) {
    if (declared.has(key)) continue;
    const help = `${CONFIG_HELP[key]} (env ${ENV_VARS[key]}${defaultNote(key)})`;
    const flag = flagName(key);
    // A boolean that is on by default is turned off with --no-KEY; one that is off (compression) on with --KEY.
    const value = VARIADIC.has(key) ? `<${placeholder(key)}...>` : `<${placeholder(key)}>`;
    const option =
      valueKind(key) !== 'boolean' ? new Option(`${flag} ${value}`, help) : DEFAULTS[key] === false ? new Option(flag, help) : new Option(`--no-${flag.slice(2)}`, `do not ${help}`);
    command.addOption(option);
  }
  return command;
}

/** `, default 4194304` for a key whose default the help does not already state (booleans say it by their flag). */
function defaultNote(key: ConfigKey): string {
  const value = DEFAULTS[key];
  if (value === undefined || typeof value === 'boolean' || /\bdefault\b/.test(CONFIG_HELP[key])) return '';
  return `, default ${Array.isArray(value) ? value.join(',') : String(value)}`;
}

/**
 * List keys whose flag takes several words (`--tasks emails images`); a comma list in one word works too, and the
 * environment variable and config key take the same list (config-load.ts splits every word at commas).
 */
const VARIADIC: ReadonlySet<ConfigKey> = new Set<ConfigKey>(['tasks']);

function placeholder(key: ConfigKey): string {
  if (key === 'tasks') return 'queue';
  if (key.endsWith('Ms')) return 'ms';
  if (key.endsWith('Bytes')) return 'bytes';
  if (key.startsWith('tls')) return 'file';
  if (valueKind(key) === 'number') return 'n';
  if (valueKind(key) === 'list') return 'list';
  return key === 'preset' ? 'name' : key === 'logLevel' ? 'level' : key.endsWith('Token') || key.endsWith('Secret') || key === 'token' ? 'secret' : 'value';
}

/** The options given on the command line, by attribute name; defaults and implied values are left out. */
export function explicitFlags(command: Command): Record<string, unknown> {
  const values = command.opts();
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (command.getOptionValueSource(name) === 'cli') out[name] = value;
  }
  return out;
}
