import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkImports } from '../../scripts/check-imports.ts';
import { findCycles, readImportGraph } from '../../scripts/import-graph.ts';

const temp = mkdtempSync(join(tmpdir(), 'tether-imports-'));
after(() => rmSync(temp, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const root = join(temp, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('import structure of src/', () => {
  it('has no import cycle and no layer violation beyond the listed ones', () => {
    assert.deepEqual(checkImports(readImportGraph('src')).violations, []);
  });
});

describe('the import check itself', () => {
  const rules = { protocol: [], client: ['protocol'], server: ['protocol'] };
  const none = { cycles: [], twoWay: [] };

  it('fails on a cycle made only of type imports', () => {
    const root = tree('cycle', {
      'server/a.ts': "import type { B } from './b.ts';\nexport type A = B | 1;\n",
      'server/b.ts': "import type { A } from './a.ts';\nexport type B = A | 2;\n",
    });
    const graph = readImportGraph(root);
    assert.deepEqual(findCycles(graph), [['server/a.ts', 'server/b.ts']]);
    assert.deepEqual(checkImports(graph, rules, none).violations, ['import cycle: server/a.ts -> server/b.ts']);
  });

  it('fails on a deliberately bad import: the client reaching into the server, by re-export or dynamic import', () => {
    const root = tree('layers', {
      'protocol/frame.ts': 'export const v = 1;\n',
      'server/core.ts': "import { v } from '../protocol/frame.ts';\nexport const core = v;\n",
      'client/socket.ts': "export { core } from '../server/core.ts';\n",
      'client/lazy.ts': "export const load = () => import('../server/core.ts');\n",
    });
    const { violations } = checkImports(readImportGraph(root), rules, none);
    assert.deepEqual(violations, [
      'layer violation: client/lazy.ts imports server/core.ts (client may import protocol)',
      'layer violation: client/socket.ts imports server/core.ts (client may import protocol)',
    ]);
  });

  it('sees through a .js path to its .ts file, and fails on an import it cannot follow (a missing file, the package by its own name)', () => {
    const root = tree('hidden', {
      'protocol/frame.ts': 'export const v = 1;\n',
      'server/core.ts': "import { v } from '../protocol/frame.js';\nexport const core = v;\n",
      'client/js-path.ts': "export { core } from '../server/core.js';\n",
      'client/by-name.ts': "export type { ServerOptions } from 'tether-rt/server';\n",
      'client/missing.ts': "export * from './gone.ts';\n",
    });
    const graph = readImportGraph(root, 'tether-rt');
    assert.ok(graph.edges.some((e) => e.from === 'server/core.ts' && e.to === 'protocol/frame.ts'), 'a .js path is an edge to its .ts file');
    assert.deepEqual(checkImports(graph, rules, none).violations, [
      "import the check cannot follow: client/by-name.ts imports 'tether-rt/server' (import a source file under src/ by its relative .ts path)",
      "import the check cannot follow: client/missing.ts imports './gone.ts' (import a source file under src/ by its relative .ts path)",
      'layer violation: client/js-path.ts imports server/core.ts (client may import protocol)',
    ]);
  });

  it('fails on protocol importing anything, on a folder with no rule, and on layers importing each other both ways', () => {
    const root = tree('mixed', {
      'protocol/frame.ts': "import '../client/socket.ts';\n",
      'client/socket.ts': "import '../protocol/frame.ts';\n",
      'tasks/queue.ts': 'export {};\n',
    });
    const { violations } = checkImports(readImportGraph(root), rules, none);
    assert.ok(violations.includes('no layer rule for src/tasks/ (add one to LAYER_RULES)'), violations.join('\n'));
    assert.ok(violations.includes('layer violation: protocol/frame.ts imports client/socket.ts (protocol may import nothing else)'));
    assert.ok(violations.includes('layers import each other both ways: client <-> protocol'));
    assert.ok(violations.includes('import cycle: client/socket.ts -> protocol/frame.ts'));
  });

  it('treats a subfolder named in the rules as its own layer: the bundle-safe side may not import the server side', () => {
    const root = tree('sublayer', {
      'protocol/frame.ts': 'export const v = 1;\n',
      'server/core.ts': "import { v } from '../protocol/frame.ts';\nexport const core = v;\n",
      'tasks/types.ts': "export type { Hub } from './server/hub.ts';\n",
      'tasks/server/hub.ts': "import { core } from '../../server/core.ts';\nexport type Hub = typeof core;\n",
    });
    const subRules = { ...rules, tasks: ['protocol'], 'tasks/server': ['protocol', 'server', 'tasks'] };
    assert.deepEqual(checkImports(readImportGraph(root), subRules, none).violations, [
      'layer violation: tasks/types.ts imports tasks/server/hub.ts (tasks may import protocol)',
    ]);
  });

  it('asks for a listed cycle to be removed once it is gone, so the list only shrinks', () => {
    const root = tree('clean', { 'server/a.ts': 'export {};\n' });
    const { violations } = checkImports(readImportGraph(root), rules, { cycles: ['server/a.ts server/b.ts'], twoWay: [] });
    assert.deepEqual(violations, ['listed cycle no longer occurs (remove it from KNOWN_CYCLES): server/a.ts server/b.ts']);
  });
});
