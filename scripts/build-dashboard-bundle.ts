/**
 * Prebundles the dashboard's browser script into dist/dashboard/dashboard.bundle.js with the same esbuild
 * options `tether serve` uses when it bundles from source. Run: `npm run build:dashboard`.
 */
import * as esbuild from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleDashboard } from '../src/ops/dashboard-assets.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export const DASHBOARD_BUNDLE = `${root}dist/dashboard/dashboard.bundle.js`;

export async function buildDashboardBundle(outfile = DASHBOARD_BUNDLE): Promise<string> {
  mkdirSync(`${root}dist/dashboard`, { recursive: true });
  writeFileSync(outfile, await bundleDashboard(esbuild, `${root}src/dashboard/app.ts`));
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`wrote ${await buildDashboardBundle()}`);
}
