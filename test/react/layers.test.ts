/**
 * The layer rule of the React bindings: src/react imports React, the client and the bundle-safe tasks module (never its
 * server side); the client never imports React.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function importsOf(dir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const entry of readdirSync(join(src, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g)) out.push([file.slice(src.length), m[1]]);
  }
  return out;
}

test('src/react imports only react, the client and the bundle-safe tasks module', () => {
  const found = importsOf('react');
  assert.ok(found.length > 0);
  for (const [file, spec] of found) assert.ok(spec === 'react' || spec.startsWith('./') || spec.startsWith('../client/') || (spec.startsWith('../tasks/') && !spec.startsWith('../tasks/server')), `${file} imports ${spec}`);
});

test('the client never imports react or the bindings', () => {
  for (const [file, spec] of importsOf('client')) assert.ok(!/^react(-dom)?(\/|$)/.test(spec) && !spec.includes('/react/'), `${file} imports ${spec}`);
});
