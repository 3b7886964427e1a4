/**
 * Runs every recipe of docs/testing.md (fenced as ```ts recipe), so the documented tests stay true. Each block is
 * written to a temporary file with `tether-rt/X` pointed at this tree's src/X, then imported: its tests run here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { pathToFileURL } from 'node:url';

const doc = readFileSync(new URL('../../docs/testing.md', import.meta.url), 'utf8');
const recipes = [...doc.matchAll(/^```ts recipe\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
assert.equal(recipes.length, 4, 'docs/testing.md has four recipes: reconnect, recovery, outbox, UI state');

const src = new URL('../../src/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'tether-recipes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const [i, recipe] of recipes.entries()) {
  const lines = recipe.split('\n').length;
  assert.ok(lines <= 45, `recipe ${i + 1} is ${lines} lines`);
  assert.doesNotMatch(recipe, /setTimeout|sleep|delay\(/, `recipe ${i + 1} waits on events, never on sleeps`);
  const code = recipe.replace(/from 'tether-rt\/([a-z-]+)'/g, (_, name: string) => `from '${new URL(`${name}/index.ts`, src).href}'`);
  const file = join(dir, `recipe-${i + 1}.ts`);
  writeFileSync(file, code);
  await import(pathToFileURL(file).href);
}
