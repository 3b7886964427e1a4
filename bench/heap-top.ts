/**
 * Summarises a V8 `.heapsnapshot` (as written by `npm run bench -- --only capacity --heap-snapshot`): object
 * count and shallow size per constructor, biggest first, optionally per connection.
 * Usage: node bench/heap-top.ts FILE.heapsnapshot [--per 19900] [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { per: { type: 'string' }, top: { type: 'string' } } });
if (positionals.length !== 1) throw new Error('usage: node bench/heap-top.ts FILE.heapsnapshot [--per N] [--top 30]');
const snap = JSON.parse(readFileSync(positionals[0], 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const stride = fields.length;
const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
const per = Number(values.per ?? 1);
const top = Number(values.top ?? 30);

const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += stride) {
  const type = types[snap.nodes[i + typeAt]];
  const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + nameAt]] : `(${type})`;
  const key = `${type === 'closure' ? 'closure ' : ''}${name}`;
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += snap.nodes[i + sizeAt];
  total += snap.nodes[i + sizeAt];
  groups.set(key, g);
}
console.log(`${(total / 2 ** 20).toFixed(1)} MiB in the snapshot${per > 1 ? `, ${(total / 1024 / per).toFixed(2)} KiB per connection` : ''}`);
console.log(`${per > 1 ? 'count/conn  bytes/conn' : '     count       bytes'}  constructor`);
for (const [key, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
  console.log(`${(g.count / per).toFixed(per > 1 ? 2 : 0).padStart(10)}  ${(g.bytes / per).toFixed(0).padStart(10)}  ${key.slice(0, 100)}`);
}
