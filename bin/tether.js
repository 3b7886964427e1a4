#!/usr/bin/env node
// The published bin runs the compiled CLI. In a clone, `npm install` builds dist/ (the `prepare` script).
try {
  await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('tether: dist/ is not built; run `npm run build` (or `npm install`) in the package folder first.\n');
  process.exit(1);
}
