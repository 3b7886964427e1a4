/**
 * Prints the heaviest functions of a V8 `.cpuprofile` (as written by `node --cpu-prof`, e.g. by
 * `npm run bench -- --cpu-prof`): self time and inclusive time, with file:line, so a profile can be read
 * without a browser. Usage: node bench/profile-top.ts FILE.cpuprofile [--top 25] [--filter src/server]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, filter: { type: 'string' } } });
if (positionals.length !== 1) throw new Error('usage: node bench/profile-top.ts FILE.cpuprofile [--top 25] [--filter TEXT]');
const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile;
const top = Number(values.top ?? 25);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfMicros = new Map<number, number>();
profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^.*\/(src|bench|node_modules)\//, '$1/').replace(/^node:/, 'node:');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (const [id, micros] of selfMicros) {
  total += micros;
  const node = byId.get(id)!;
  self.set(label(node), (self.get(label(node)) ?? 0) + micros);
  // Inclusive: credit every distinct function on the stack once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + micros);
  }
}

const print = (title: string, map: Map<string, number>): void => {
  console.log(`\n${title} (of ${(total / 1000).toFixed(0)} ms sampled)`);
  const rows = [...map].filter(([l]) => !values.filter || l.includes(values.filter)).sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [l, micros] of rows) console.log(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${l}`);
};
print('self time', self);
print('inclusive time', inclusive);
