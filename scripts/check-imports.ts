/**
 * `node scripts/check-imports.ts [root]`: fails on an import cycle between files under src/ (type-only imports
 * count) and on an import that crosses the layers the wrong way. Run by test/architecture/imports.test.ts.
 */
import { findCycles, readImportGraph, type ImportGraph } from './import-graph.ts';

/**
 * What each top-level folder of src/ may import besides itself. A folder missing here is itself a violation. A key
 * `folder/sub` makes that subfolder a layer of its own (`tasks/server`: the Node side of `tasks`, which the
 * bundle-safe `tasks` must not import).
 */
export const LAYER_RULES: Readonly<Record<string, readonly string[]>> = {
  protocol: [],
  client: ['protocol'],
  broker: ['protocol'],
  server: ['protocol', 'broker'],
  demo: ['protocol', 'server', 'broker'],
  dashboard: ['protocol', 'client'],
  ops: ['protocol', 'server', 'broker', 'dashboard', 'tasks'],
  react: ['protocol', 'client', 'tasks'],
  tasks: ['protocol', 'client'],
  'tasks/server': ['protocol', 'server', 'broker', 'tasks'],
  testing: ['protocol', 'client', 'server', 'broker'],
  cli: ['protocol', 'client', 'server', 'broker', 'ops', 'demo', 'dashboard', 'testing', 'tasks', 'tasks/server'],
};

/**
 * Seams known to run the wrong way, each to be straightened (then removed from here). The check fails on any
 * cycle or two-way layer pair not listed, and on a listed one that no longer occurs, so this list only shrinks.
 */
export const KNOWN_CYCLES: readonly string[] = [];
export const KNOWN_TWO_WAY_LAYERS: readonly string[] = [];

export interface ImportReport {
  violations: string[];
}

/** The layer of a file: its top folder, or `top/sub` when the rules name that subfolder. */
function layerOf(file: string, rules: Readonly<Record<string, readonly string[]>>): string {
  const parts = file.split('/');
  if (parts.length > 2 && `${parts[0]}/${parts[1]}` in rules) return `${parts[0]}/${parts[1]}`;
  return parts.length > 1 ? parts[0]! : '.';
}

export function checkImports(
  graph: ImportGraph,
  rules: Readonly<Record<string, readonly string[]>> = LAYER_RULES,
  known: { cycles: readonly string[]; twoWay: readonly string[] } = { cycles: KNOWN_CYCLES, twoWay: KNOWN_TWO_WAY_LAYERS },
): ImportReport {
  const violations: string[] = [];
  for (const u of graph.unfollowed) {
    violations.push(`import the check cannot follow: ${u.from} imports '${u.specifier}' (import a source file under src/ by its relative .ts path)`);
  }
  const cycles = findCycles(graph).map((c) => c.join(' '));
  for (const c of cycles) if (!known.cycles.includes(c)) violations.push(`import cycle: ${c.split(' ').join(' -> ')}`);
  for (const c of known.cycles) if (!cycles.includes(c)) violations.push(`listed cycle no longer occurs (remove it from KNOWN_CYCLES): ${c}`);

  const pairs = new Set<string>();
  for (const layer of new Set(graph.files.map((f) => layerOf(f, rules)))) {
    if (!(layer in rules)) violations.push(`no layer rule for src/${layer}/ (add one to LAYER_RULES)`);
  }
  for (const e of graph.edges) {
    const from = layerOf(e.from, rules);
    const to = layerOf(e.to, rules);
    if (from === to) continue;
    pairs.add(`${from} ${to}`);
    const allowed = rules[from];
    if (allowed && !allowed.includes(to)) violations.push(`layer violation: ${e.from} imports ${e.to} (${from} may import ${allowed.join(', ') || 'nothing else'})`);
  }
  const twoWay = [...pairs].filter((p) => {
    const [a, b] = p.split(' ');
    return a! < b! && pairs.has(`${b} ${a}`);
  });
  for (const p of twoWay) if (!known.twoWay.includes(p)) violations.push(`layers import each other both ways: ${p.replace(' ', ' <-> ')}`);
  for (const p of known.twoWay) if (!twoWay.includes(p)) violations.push(`listed two-way layers no longer occur (remove from KNOWN_TWO_WAY_LAYERS): ${p}`);
  return { violations };
}

if (import.meta.main) {
  const root = process.argv[2] ?? 'src';
  const { violations } = checkImports(readImportGraph(root));
  for (const v of violations) console.error(v);
  if (violations.length > 0) process.exit(1);
  console.log(`imports under ${root}/: no cycles and no layer violations beyond the listed ones`);
}
