/**
 * Builds the browser client: one ESM file, `dist/tether-client.js` (+ source map), that a page loads with
 * `<script type="module">`. `ws`, `node:*` (the Node transport's lazy imports) stay out of it.
 * Run: `npm run build:client`.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export const CLIENT_BUNDLE = `${root}dist/tether-client.js`;

export async function buildClientBundle(outfile = CLIENT_BUNDLE): Promise<string> {
  await build({
    entryPoints: [`${root}src/client/browser-entry.ts`],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify: false,
    external: ['ws', 'node:*'],
    logLevel: 'warning',
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await buildClientBundle();
  console.log(`wrote ${out}`);
}
