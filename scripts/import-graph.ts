/**
 * The import graph of a source tree, read with oxc-parser (its own TypeScript parser: TypeScript 7's package has
 * no compiler API for madge or dependency-cruiser to use). Every edge counts, type-only imports and re-exports
 * included, because a circle of `import type` is still a circle of knowledge.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseSync } from 'oxc-parser';

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
}

const SOURCE = /\.(ts|tsx|mts)$/;

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listSources(path));
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

interface Specifier {
  value: string;
  typeOnly: boolean;
}

function specifiersOf(path: string, text: string): Specifier[] {
  const { module, errors } = parseSync(path, text);
  if (errors.length > 0) throw new Error(`${path}: ${errors[0]!.message}`);
  const out: Specifier[] = [];
  for (const imp of module.staticImports) {
    const typeOnly = imp.entries.length > 0 && imp.entries.every((e) => e.isType);
    out.push({ value: imp.moduleRequest.value, typeOnly });
  }
  for (const exp of module.staticExports) {
    for (const entry of exp.entries) {
      if (entry.moduleRequest) out.push({ value: entry.moduleRequest.value, typeOnly: entry.isType });
    }
  }
  for (const dyn of module.dynamicImports) {
    const literal = /^\s*(['"`])([^'"`]+)\1\s*$/.exec(text.slice(dyn.moduleRequest.start, dyn.moduleRequest.end));
    if (literal) out.push({ value: literal[2]!, typeOnly: false });
  }
  return out;
}

/** Reads every source file under `root` and returns the edges between them (paths relative to `root`, with `/`). */
export function readImportGraph(root: string): ImportGraph {
  const abs = resolve(root);
  const paths = listSources(abs);
  const known = new Set(paths);
  const rel = (p: string) => relative(abs, p).split(sep).join('/');
  const edges: ImportEdge[] = [];
  for (const path of paths) {
    const seen = new Map<string, boolean>();
    for (const spec of specifiersOf(path, readFileSync(path, 'utf8'))) {
      if (!spec.value.startsWith('.')) continue;
      const target = resolve(dirname(path), spec.value);
      if (!known.has(target)) continue;
      seen.set(target, (seen.get(target) ?? true) && spec.typeOnly);
    }
    for (const [target, typeOnly] of seen) edges.push({ from: rel(path), to: rel(target), typeOnly });
  }
  return { files: paths.map(rel), edges };
}

/** Strongly connected components with more than one file (or a file importing itself): the import cycles. */
export function findCycles(graph: ImportGraph): string[][] {
  const next = new Map<string, string[]>(graph.files.map((f) => [f, []]));
  for (const e of graph.edges) next.get(e.from)!.push(e.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)!.includes(v)) cycles.push(component.sort());
    }
  };
  for (const f of graph.files) if (!index.has(f)) visit(f);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}
