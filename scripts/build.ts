/**
 * `npm run build` (also run by `prepare` on `npm install` / `npm ci`, and by `prepack`): a clean dist/ with the
 * compiled modules and their public types (`@internal` members stripped), the browser client bundle and the
 * dashboard bundle. dist/ is emptied first so a module deleted from src/ is never shipped from an old build.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildClientBundle } from './build-client-bundle.ts';
import { buildDashboardBundle } from './build-dashboard-bundle.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

// `npm pack` and `npm publish` run prepack and then prepare: `prepare` passes --once so the pack builds once.
if (process.argv.includes('--once') && ['pack', 'publish'].includes(process.env.npm_command ?? '')) process.exit(0);

const started = performance.now();

rmSync(`${root}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
await Promise.all([buildClientBundle(), buildDashboardBundle()]);
console.log(`built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
