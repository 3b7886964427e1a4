/**
 * The import graph of a source tree, read with oxc-parser (its own TypeScript parser: TypeScript 7's package has
 * no compiler API for madge or dependency-cruiser to use). Every edge counts, type-only imports and re-exports
 * included, because a circle of `import type` is still a circle of knowledge.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseSync } from 'oxc-parser';

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** An import the graph cannot follow: a relative path to no source file, or the package imported by its own name. */
export interface UnfollowedImport {
  from: string;
  specifier: string;
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
  /** Imports that would hide an edge from the checks (a `.js` path to no file, `tether-rt/server` from inside src/). */
  unfollowed: UnfollowedImport[];
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

/** The source file a relative specifier names: as written, or its `.ts` twin for a `.js` path (TypeScript resolves both). */
function resolveSource(from: string, specifier: string, known: Set<string>): string | null {
  const target = resolve(dirname(from), specifier);
  if (known.has(target)) return target;
  const twin = /\.(m?)js(x?)$/.exec(target);
  if (twin) {
    const ts = `${target.slice(0, twin.index)}.${twin[1]}ts${twin[2]}`;
    if (known.has(ts)) return ts;
  }
  return null;
}

/** The name in the package.json beside `root`'s folder (src/ -> the repository's), if there is one. */
function packageNameNear(root: string): string | null {
  const file = join(dirname(root), 'package.json');
  if (!existsSync(file)) return null;
  const name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
  return typeof name === 'string' ? name : null;
}

/**
 * Reads every source file under `root` and returns the edges between them (paths relative to `root`, with `/`).
 * `packageName` (default: the package.json beside `root`'s folder) is the name whose self-imports are reported.
 */
export function readImportGraph(root: string, packageName: string | null = packageNameNear(resolve(root))): ImportGraph {
  const abs = resolve(root);
  const paths = listSources(abs);
  const known = new Set(paths);
  const rel = (p: string) => relative(abs, p).split(sep).join('/');
  const edges: ImportEdge[] = [];
  const unfollowed: UnfollowedImport[] = [];
  for (const path of paths) {
    const seen = new Map<string, boolean>();
    for (const spec of specifiersOf(path, readFileSync(path, 'utf8'))) {
      if (!spec.value.startsWith('.')) {
        if (packageName !== null && (spec.value === packageName || spec.value.startsWith(`${packageName}/`))) unfollowed.push({ from: rel(path), specifier: spec.value });
        continue;
      }
      const target = resolveSource(path, spec.value, known);
      if (target === null) {
        unfollowed.push({ from: rel(path), specifier: spec.value });
        continue;
      }
      seen.set(target, (seen.get(target) ?? true) && spec.typeOnly);
    }
    for (const [target, typeOnly] of seen) edges.push({ from: rel(path), to: rel(target), typeOnly });
  }
  return { files: paths.map(rel), edges, unfollowed };
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
