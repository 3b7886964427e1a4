/**
 * `npm run check:package` (run by .ci/run after `npm test`): the package as a user gets it, tried as a user would.
 *
 * 1. `npm pack` (prepack builds dist/), then what ships: LICENSE, README, the bin, every target of the exports
 *    map, source maps only with their sources inside, nothing from src/, test/ or scripts/.
 * 2. The tarball installed with npm into an empty folder (its dependencies from the registry).
 * 3. Every subpath of the installed package's exports map (so a subpath added later is covered without a change
 *    here): it imports, and its types declare every runtime export and type-check strictly (skipLibCheck off).
 * 4. The samples README.md and docs/ mark as checked (scripts/lib/doc-samples.ts), against the installed package:
 *    TypeScript samples type-checked and run, `sh` samples run with the installed `tether` first on PATH.
 *
 * `--keep` leaves the temporary folder in place and prints it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandsOf, samplesOf, withPort, type Sample } from './lib/doc-samples.ts';
import { Background, freePort, run } from './lib/run.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = process.execPath;
const tsc = join(root, 'node_modules/typescript/bin/tsc');
// A nested npm must not inherit the outer `npm run`'s settings (npm_config_local_prefix would point it back here).
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
const started = performance.now();
const timings: string[] = [];

async function phase<T>(name: string, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await work();
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  timings.push(`${name} ${seconds} s`);
  console.log(`✓ ${name} (${seconds} s)`);
  return result;
}

function fail(message: string): never {
  throw new Error(message);
}

interface PackedFile {
  path: string;
  size: number;
}

/** A target of the exports map: a path, or conditions (`types`, `import`, `browser`, …) nesting further targets. */
type ExportTarget = string | { [condition: string]: ExportTarget };

/** Every file a target names, through nested conditions. */
function filesOf(target: ExportTarget): string[] {
  return typeof target === 'string' ? [target.replace(/^\.\//, '')] : Object.values(target).flatMap(filesOf);
}

function targetsOf(exportsMap: Record<string, ExportTarget>): string[] {
  return Object.values(exportsMap).flatMap(filesOf);
}

/** Whether a target declares types under some condition. */
function hasTypes(target: ExportTarget): boolean {
  return typeof target !== 'string' && Object.entries(target).some(([condition, inner]) => condition === 'types' || hasTypes(inner));
}

function checkTarball(files: PackedFile[]): void {
  const paths = new Set(files.map((f) => f.path));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, ExportTarget>; bin: Record<string, string> };
  const required = ['package.json', 'README.md', 'LICENSE', ...Object.values(pkg.bin).map((b) => b.replace(/^\.\//, '')), ...targetsOf(pkg.exports)];
  for (const path of required) if (!paths.has(path)) fail(`the tarball lacks ${path}`);
  const stray = [...paths].filter((p) => /^(src|test|scripts|bench)\//.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')));
  if (stray.length > 0) fail(`the tarball ships sources it should not: ${stray.slice(0, 5).join(', ')}`);
  // A map is useful only if its sources travel with it: embedded (sourcesContent) or shipped beside it.
  for (const path of [...paths].filter((p) => p.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(root, path), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    map.sources.forEach((source, i) => {
      const shipped = paths.has(join(dirname(path), source));
      if (!shipped && typeof map.sourcesContent?.[i] !== 'string') fail(`${path} points to ${source}, which is neither shipped nor embedded`);
    });
  }
}

/**
 * Peer dependencies (a subpath such as a React binding needs its framework), optional ones included, with their
 * `@types/…` at the version this repository develops against: every subpath must import and type-check.
 */
function peersOf(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { peerDependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  return Object.entries(pkg.peerDependencies ?? {}).flatMap(([name, range]) => {
    const types = `@types/${name.replace(/^@(.+)\//, '$1__')}`;
    const typesRange = pkg.devDependencies?.[types];
    return [`${name}@${range}`, ...(typesRange ? [`${types}@${typesRange}`] : [])];
  });
}

/** The app folder: an empty ESM project with the tarball (and any peers) installed. */
async function install(work: string, tarball: string): Promise<string> {
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tether-rt-check', private: true, type: 'module' }, null, 2));
  const result = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...peersOf()], { cwd: app, env: cleanEnv, timeoutMs: 300_000 });
  if (result.code !== 0) fail(`npm install of the tarball failed (${result.code}):\n${result.stdout}${result.stderr}`);
  return app;
}

/**
 * Imports every subpath at runtime and writes, per subpath, a file that imports each runtime export by name, so
 * tsc proves the types declare them all. A subpath named `browser` is type-checked with the DOM library; the
 * others without it, as a Node project would.
 */
async function checkSubpaths(app: string): Promise<string[]> {
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules/tether-rt/package.json'), 'utf8')) as { name: string; exports: Record<string, ExportTarget> };
  const checked: string[] = [];
  mkdirSync(join(app, 'exports', 'browser'), { recursive: true });
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const specifier = `${pkg.name}${subpath.slice(1)}`;
    if (typeof target === 'string') {
      if (!existsSync(join(app, 'node_modules', pkg.name, target))) fail(`${specifier}: ${target} is missing`);
      continue;
    }
    if (!hasTypes(target)) fail(`${specifier} has no types`);
    const listed = await run(node, ['--input-type=module', '-e', `console.log(JSON.stringify(Object.keys(await import(${JSON.stringify(specifier)}))))`], { cwd: app, env: cleanEnv, timeoutMs: 30_000 });
    if (listed.code !== 0) fail(`import('${specifier}') failed:\n${listed.stderr}`);
    const names = (JSON.parse(listed.stdout) as string[]).filter((n) => n !== 'default');
    if (names.length === 0) fail(`${specifier} exports nothing`);
    const file = join(app, 'exports', ...(subpath.includes('browser') ? ['browser'] : []), `${subpath.slice(2).replace(/\//g, '_')}.ts`);
    writeFileSync(file, `import { ${names.join(', ')} } from '${specifier}';\nvoid [${names.join(', ')}];\n`);
    checked.push(`${specifier} (${names.length})`);
  }
  return checked;
}

interface DocFile {
  file: string;
  port: number;
  /** What the docs' proxy port 9000 becomes. */
  proxyPort: number;
  samples: Sample[];
}

async function docSamples(): Promise<DocFile[]> {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const found: DocFile[] = [];
  for (const file of files) {
    const samples = samplesOf(join(root, file), file);
    if (samples.length > 0) found.push({ file, port: await freePort(), proxyPort: await freePort(), samples });
  }
  return found;
}

function sampleFile(app: string, sample: Sample): string {
  return join(app, 'samples', `${sample.where.replace(/[/.:]/g, '_')}.ts`);
}

async function typecheck(app: string, docs: DocFile[]): Promise<void> {
  mkdirSync(join(app, 'samples'), { recursive: true });
  for (const { samples, port } of docs) {
    for (const s of samples) if (s.kind !== 'sh') writeFileSync(sampleFile(app, s), withPort(s.code, port));
  }
  const compilerOptions = {
    target: 'es2023', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, verbatimModuleSyntax: true,
    // The published .d.ts are checked too: a stripped @internal type still referenced would show here.
    skipLibCheck: false, types: ['node'], typeRoots: [join(root, 'node_modules/@types')],
  };
  const projects = [
    { name: 'tsconfig.node.json', lib: ['es2023'], include: ['exports/*.ts', 'samples/*.ts'] },
    { name: 'tsconfig.browser.json', lib: ['es2023', 'dom'], include: ['exports/browser/*.ts'] },
  ];
  for (const { name, lib, include } of projects) {
    writeFileSync(join(app, name), JSON.stringify({ compilerOptions: { ...compilerOptions, lib }, include }, null, 2));
    const r = await run(node, [tsc, '-p', join(app, name)], { cwd: app, env: cleanEnv, timeoutMs: 120_000 });
    if (r.code !== 0) fail(`the published types or a doc sample do not type-check (${lib.join(', ')}):\n${r.stdout}${r.stderr}`);
  }
}

async function runTsSamples(app: string, doc: DocFile): Promise<void> {
  // Servers stay up for the file's clients; everything started is stopped at the end, also after a failure.
  const started: Background[] = [];
  try {
    for (const sample of doc.samples.filter((s) => s.kind === 'server' || s.kind === 'client')) {
      if (sample.output.length === 0) fail(`${sample.where}: a ${sample.kind} sample needs an output block to wait for`);
      const proc = new Background(node, [sampleFile(app, sample)], { cwd: app, env: cleanEnv });
      started.push(proc);
      await proc.waitFor(sample.output.map((l) => withPort(l, doc.port)), 20_000, sample.where);
      if (sample.kind === 'client') await proc.stop();
      console.log(`  ${sample.where} ${sample.kind} printed its ${sample.output.length} output line(s)`);
    }
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}

/** The installed `tether serve` serves its dashboard page and the prebuilt script (the package has no esbuild). */
async function checkDashboard(port: number): Promise<void> {
  const page = await fetch(`http://127.0.0.1:${port}/`);
  const script = /<script type="module" src="([^"]+)"/.exec(await page.text())?.[1];
  if (page.status !== 200 || !script) fail(`tether serve: the dashboard page answered ${page.status} without its script`);
  const bundle = await fetch(`http://127.0.0.1:${port}${script}`);
  if (bundle.status !== 200 || (await bundle.text()).length < 1000) fail(`tether serve: the dashboard script ${script} answered ${bundle.status}`);
}

async function runShSamples(app: string, doc: DocFile): Promise<void> {
  const env = { ...cleanEnv, PORT: String(doc.port), PATH: `${join(app, 'node_modules/.bin')}:${dirname(node)}:${process.env.PATH ?? ''}` };
  for (const sample of doc.samples.filter((s) => s.kind === 'sh')) {
    const serving: Background[] = [];
    try {
      for (const command of commandsOf(sample).map((c) => withPort(c, doc.port, doc.proxyPort))) {
        const t0 = performance.now();
        if (/^tether proxy\b/.test(command)) {
          // A proxy runs until stopped: it must come up listening where the command says, and stop cleanly.
          const proxy = new Background('sh', ['-c', `exec ${command}`], { cwd: app, env });
          try {
            await proxy.waitFor([`tether proxy listening on 127.0.0.1:${doc.proxyPort} -> 127.0.0.1:${doc.port}`], 20_000, `${sample.where}: ${command}`);
          } catch (err) {
            await proxy.stop();
            throw err;
          }
          const code = await proxy.stop();
          if (code !== 0) fail(`${sample.where}: \`${command}\` exited ${code} on SIGTERM (0 expected)\n${proxy.stderr}`);
        } else if (/^tether serve\b/.test(command)) {
          const server = new Background('sh', ['-c', `exec ${command}`], { cwd: app, env });
          serving.push(server);
          await server.waitFor(['tether serve listening'], 20_000, `${sample.where}: ${command}`);
          await checkDashboard(doc.port);
        } else {
          const result = await run('sh', ['-c', command], { cwd: app, env, timeoutMs: 60_000 });
          if (result.code !== 0) fail(`${sample.where}: \`${command}\` exited ${result.code}\n${result.stdout}${result.stderr}`);
        }
        console.log(`  ${sample.where} ${command.replace(/\s+#.*$/, '')} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
      for (const server of serving) {
        const code = await server.stop();
        if (code !== 0) fail(`${sample.where}: tether serve exited ${code} on SIGTERM (a drain exits 0)\n${server.stderr}`);
      }
    } finally {
      await Promise.all(serving.map((server) => server.stop()));
    }
  }
}

const work = mkdtempSync(join(tmpdir(), 'tether-rt-pack-'));
try {
  const packed = await phase('npm pack', async () => {
    const result = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, env: { ...cleanEnv, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}` }, timeoutMs: 300_000 });
    if (result.code !== 0) fail(`npm pack failed (${result.code}):\n${result.stdout}${result.stderr}`);
    const [info] = JSON.parse(result.stdout.slice(result.stdout.indexOf('['))) as { filename: string; files: PackedFile[]; size: number; unpackedSize: number }[];
    checkTarball(info.files);
    console.log(`  ${info.filename}: ${info.files.length} files, ${(info.size / 1024).toFixed(0)} kB packed, ${(info.unpackedSize / 1024).toFixed(0)} kB unpacked`);
    return join(work, basename(info.filename));
  });
  const app = await phase('npm install of the tarball into an empty folder', () => install(work, packed));
  const subpaths = await phase('every subpath in the exports map imports', () => checkSubpaths(app));
  console.log(`  ${subpaths.join(', ')}`);
  const docs = await docSamples();
  const count = docs.reduce((n, d) => n + d.samples.length, 0);
  if (!docs.some((d) => d.file === 'README.md') || !docs.some((d) => d.file === 'docs/cli.md')) fail('README.md and docs/cli.md must mark their samples as checked');
  await phase(`types of every subpath and ${count} doc samples type-check`, () => typecheck(app, docs));
  await phase('doc samples run against the installed package', async () => {
    for (const doc of docs) {
      await runTsSamples(app, doc);
      await runShSamples(app, doc);
    }
  });
  console.log(`package check passed in ${((performance.now() - started) / 1000).toFixed(1)} s: ${timings.join(', ')}`);
} catch (err) {
  console.error(`✗ package check failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  if (process.argv.includes('--keep')) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
