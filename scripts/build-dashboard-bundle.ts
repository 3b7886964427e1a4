/**
 * Prebundles the dashboard's browser script into dist/dashboard/dashboard.bundle.js with the same esbuild
 * options `tether serve` uses when it bundles from source. Run: `npm run build:dashboard`.
 */
import * as esbuild from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleDashboard } from '../src/ops/dashboard-assets.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/dashboard/dashboard.bundle.js`;
mkdirSync(`${root}dist/dashboard`, { recursive: true });
writeFileSync(out, await bundleDashboard(esbuild, `${root}src/dashboard/app.ts`));
console.log(`wrote ${out}`);
