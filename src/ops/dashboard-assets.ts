/**
 * The dashboard's browser script. A published build ships it prebundled (`npm run build:dashboard` writes
 * dist/dashboard/dashboard.bundle.js); running from source, it is bundled once on first request with esbuild.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const PREBUILT = new URL('../dashboard/dashboard.bundle.js', import.meta.url);
const SOURCE = new URL('../dashboard/app.ts', import.meta.url);

let script: Promise<string> | undefined;

export function dashboardScript(): Promise<string> {
  script ??= load();
  // A failed bundle is retried on the next request instead of being cached.
  script.catch(() => (script = undefined));
  return script;
}

async function load(): Promise<string> {
  if (existsSync(PREBUILT)) return readFile(PREBUILT, 'utf8');
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('The dashboard script is not built: run `npm run build:dashboard` (needs the esbuild dev dependency).');
  }
  return bundleDashboard(esbuild, fileURLToPath(SOURCE));
}

/** Bundles the dashboard for browsers; `npm run build:dashboard` (scripts/build-dashboard-bundle.ts) calls this too. */
export async function bundleDashboard(esbuild: typeof import('esbuild'), entry: string): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    // The client's Node-only transport is imported lazily and never runs in a page.
    external: ['node:*', 'ws'],
    write: false,
  });
  return result.outputFiles?.[0]?.text ?? '';
}
