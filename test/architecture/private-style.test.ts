/**
 * One private style: members are private as `#name` (enforced at run time), never TypeScript's `private`, which only
 * the compiler sees. The exception is `private constructor`, which has no `#` form.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSync } from 'oxc-parser';

const MEMBER_TYPES = new Set(['PropertyDefinition', 'MethodDefinition', 'AccessorProperty', 'TSAbstractPropertyDefinition', 'TSAbstractMethodDefinition']);

/** `file:line name` of every class member declared `private` (constructors aside). */
export function privateKeywordMembers(file: string, text: string): string[] {
  const { program, errors } = parseSync(file, text);
  if (errors.length > 0) throw new Error(`${file}: ${errors[0]!.message}`);
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const n = node as { type?: string; accessibility?: string | null; kind?: string; key?: { name?: string }; start?: number };
    if (n.type !== undefined && MEMBER_TYPES.has(n.type) && n.accessibility === 'private' && n.kind !== 'constructor') {
      const line = text.slice(0, n.start ?? 0).split('\n').length;
      found.push(`${file}:${line} ${n.key?.name ?? '?'}`);
    }
    for (const value of Object.values(n)) if (value !== null && typeof value === 'object') visit(value);
  };
  visit(program);
  return found;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

test('no class member is declared with the private keyword in src/, test/, bench/, scripts/ or examples/', () => {
  const found = ['src', 'test', 'bench', 'scripts', 'examples'].flatMap(sources).flatMap((f) => privateKeywordMembers(f, readFileSync(f, 'utf8')));
  assert.deepEqual(found, [], 'use #name instead');
});

test('the check finds a deliberately private field, method and accessor, and lets a private constructor and #fields pass', () => {
  const text = [
    'class A {',
    '  private x = 1;',
    '  #y = 2;',
    '  private constructor() {}',
    '  private static make(): A { return new A(); }',
    '  private get z(): number { return 3; }',
    '  protected w(): void {}',
    '}',
  ].join('\n');
  assert.deepEqual(privateKeywordMembers('a.ts', text), ['a.ts:2 x', 'a.ts:5 make', 'a.ts:6 z']);
});
