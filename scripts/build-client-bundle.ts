/**
 * Builds the browser client: one ESM file, `dist/tether-client.js` (+ source map), that a page loads with
 * `<script type="module">`; the package exports it as `tether-rt/browser`. `ws`, `node:*` (the Node transport's lazy imports) stay out of it.
 * Run: `npm run build:client`.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { name, version, license } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { name: string; version: string; license: string };

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
    // Says what the file is when it is found on its own (a CDN, a vendored copy): `tether-rt/browser`.
    banner: { js: `/*! ${name}/browser ${version}: the Tether client for pages (${license} License) */` },
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await buildClientBundle();
  console.log(`wrote ${out}`);
}
