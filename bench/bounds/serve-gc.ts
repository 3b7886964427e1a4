/**
 * `tether serve` (the same `serve()` the command runs) from the source tree in TETHER_TREE, with one addition
 * for the figures: an IPC message `gc` runs a full collection (needs --expose-gc) and answers `gc-done`, so a
 * figure "after GC" can be told apart from what V8 and the allocator keep on their own.
 * Flags: `--kebab-name value` pairs, as `tether serve` takes them.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const tree = process.env.TETHER_TREE ?? process.cwd();
const flags: Record<string, unknown> = { port: '0', logLevel: 'warn' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) flags[argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] = argv[i + 1];

process.on('message', (message) => {
  if (message !== 'gc') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.send?.(gc ? 'gc-done' : 'gc-unavailable');
});
process.on('disconnect', () => process.exit(0));

const { serve } = (await import(pathToFileURL(join(tree, 'src/cli/serve.ts')).href)) as { serve(flags: Record<string, unknown>): Promise<void> };
await serve(flags);
