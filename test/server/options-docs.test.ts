/**
 * createServer's defaults are stated once (SERVER_DEFAULTS and the nested options' own defaults objects); the
 * `@defaultValue` tags users read in the types and the option table of docs/server.md are checked against them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { HISTORY_LIMIT_DEFAULTS } from '../../src/broker/history-memory.ts';
import { COMPRESSION_DEFAULTS } from '../../src/server/compression.ts';
import { HARD_CAP_FACTOR, resolveOptions, SERVER_DEFAULTS } from '../../src/server/options.ts';
import { PUSH_DEDUP_DEFAULTS } from '../../src/server/recovery/push-dedup.ts';

const source = (file: string) => readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
const serverDoc = readFileSync(new URL('../../docs/server.md', import.meta.url), 'utf8');

/** A default as the JSDoc and the docs write it: numbers plain, strings quoted. */
const show = (value: unknown) => (typeof value === 'string' ? `'${value}'` : String(value));

/** Each member of `interface NAME` in the file -> its JSDoc (empty when it has none). */
function members(text: string, name: string): Map<string, string> {
  const start = text.indexOf(`export interface ${name} {`);
  assert.ok(start >= 0, `interface ${name} not found`);
  const body = text.slice(start, text.indexOf('\n}', start));
  const out = new Map<string, string>();
  const member = /(?:\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*)?\n  (\w+)\??:/g;
  for (const m of body.matchAll(member)) out.set(m[2]!, m[1] ?? '');
  return out;
}

/** The backticked value of a member's `@defaultValue` tag, if it has one. */
const tagged = (doc: string) => /@defaultValue `([^`]*)`/.exec(doc)?.[1];

function checkInterface(file: string, name: string, defaults: Readonly<Record<string, unknown>>, computed: Readonly<Record<string, string>> = {}): void {
  const docs = members(source(file), name);
  for (const [key, value] of Object.entries(defaults)) {
    assert.ok(docs.has(key), `${name}.${key}: not a member`);
    assert.equal(tagged(docs.get(key)!), show(value), `${name}.${key}: @defaultValue`);
  }
  for (const [key, doc] of docs) {
    const tag = tagged(doc);
    if (key in computed) assert.equal(tag, computed[key], `${name}.${key}: @defaultValue`);
    else if (tag !== undefined) assert.ok(key in defaults, `${name}.${key}: @defaultValue ${tag} is not in the defaults object`);
    // A default written in prose would escape this check: it goes in the tag, or the member has none.
    assert.doesNotMatch(doc, /\bDefaults?\b/, `${name}.${key}: a default in prose`);
  }
}

test('the @defaultValue of every server option is its default in the code, and no default is prose', () => {
  checkInterface('server/options.ts', 'ServerOptions', SERVER_DEFAULTS, { outboundHardCapBytes: `${HARD_CAP_FACTOR}x` });
  checkInterface('server/options.ts', 'ServerDedupOptions', PUSH_DEDUP_DEFAULTS);
  checkInterface('server/compression.ts', 'CompressionOptions', COMPRESSION_DEFAULTS);
  checkInterface('broker/history-memory.ts', 'HistoryLimits', HISTORY_LIMIT_DEFAULTS);
});

test('SERVER_DEFAULTS are what createServer fills in', () => {
  const resolved = resolveOptions({ channels: {} }) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(SERVER_DEFAULTS)) assert.equal(resolved[key], value, key);
  assert.equal(resolved.outboundHardCapBytes, Math.floor(SERVER_DEFAULTS.outboundBudgetBytes * HARD_CAP_FACTOR));
});

test('the option table of docs/server.md states each default as the code does', () => {
  const rows = serverDoc.split('\n').filter((line) => line.startsWith('| `'));
  const row = (key: string) => {
    const found = rows.find((line) => line.startsWith(`| \`${key}\` |`));
    assert.ok(found, `docs/server.md: no row for ${key}`);
    return found;
  };
  for (const [key, value] of Object.entries(SERVER_DEFAULTS)) {
    assert.equal(row(key).split('|')[2]!.trim().split(' ')[0], `\`${show(value)}\``, `docs/server.md ${key}`);
  }
  assert.ok(row('outboundHardCapBytes').split('|')[2]!.includes(`${HARD_CAP_FACTOR}x \`outboundBudgetBytes\``), 'outboundHardCapBytes');
  const compression = row('compression');
  for (const [key, value] of Object.entries(COMPRESSION_DEFAULTS)) assert.ok(compression.includes(`${key}: ${value}`), `compression.${key}`);
  const history = row('history');
  for (const [key, value] of Object.entries(HISTORY_LIMIT_DEFAULTS)) assert.ok(history.includes(`\`${key}\` \`${value}\``), `history.${key}`);
  const dedup = row('dedup');
  for (const [key, value] of Object.entries(PUSH_DEDUP_DEFAULTS)) assert.ok(dedup.includes(`\`${key}\` \`${value}\``), `dedup.${key}`);
});
