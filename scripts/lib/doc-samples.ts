/**
 * The samples in README.md and docs/ that `npm run check:package` runs against the packed package, found by
 * their fence's info string, so the docs cannot drift from what is checked (GitHub renders the first word as
 * the language and ignores the rest):
 *
 *   ```ts check=server   a program that keeps running; the next `output` block lists lines it must print
 *   ```ts check=client   a program run once the file's servers are up; must print its `output` lines
 *   ```ts check=types    type-checked against the installed package, not run
 *   ```sh check          one command a line (`\` continues one); `tether serve` stays up for the block's
 *                        other commands, which must exit 0; a `tether proxy` must print its banner, then
 *                        exit 0 on SIGTERM
 *   ```text output       what the checked block just above prints, line by line, in order
 *
 * Everything is run as written, but for one substitution: port 4000 (a server) and port 9000 (a proxy's listening
 * port) become free ports, so something already on them does not fail the check.
 */
import { readFileSync } from 'node:fs';

export type SampleKind = 'server' | 'client' | 'types' | 'sh';

export interface Sample {
  /** `docs/cli.md:3`: where the fence opens. */
  where: string;
  kind: SampleKind;
  code: string;
  /** Lines of the `output` block that follows, if any. */
  output: string[];
}

const FENCE = /^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;

export function extractSamples(markdown: string, file: string): Sample[] {
  const samples: Sample[] = [];
  for (const match of markdown.matchAll(FENCE)) {
    const [language = '', ...words] = match[1].trim().split(/\s+/);
    const where = `${file}:${markdown.slice(0, match.index).split('\n').length}`;
    const body = match[2];
    if (words.includes('output')) {
      const last = samples.at(-1);
      if (!last) throw new Error(`${where}: an output block with no checked block above it`);
      last.output = body.split('\n').map((l) => l.trim()).filter(Boolean);
      continue;
    }
    const check = words.find((w) => w === 'check' || w.startsWith('check='));
    if (!check) continue;
    const kind = check === 'check' ? (language === 'sh' ? 'sh' : null) : check.slice('check='.length);
    if (kind !== 'server' && kind !== 'client' && kind !== 'types' && kind !== 'sh') throw new Error(`${where}: unknown check "${check}" for ${language}`);
    samples.push({ where, kind, code: body, output: [] });
  }
  return samples;
}

export function samplesOf(path: string, file: string): Sample[] {
  return extractSamples(readFileSync(path, 'utf8'), file);
}

/** The commands of an sh sample: continuation lines joined, blank lines and whole-line comments dropped. */
export function commandsOf(sample: Sample): string[] {
  return sample.code
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The one substitution: the documented port 4000 becomes `port`, and a proxy's 9000 becomes `proxyPort` if given. */
export function withPort(text: string, port: number, proxyPort?: number): string {
  const served = text.replace(/\b4000\b/g, String(port));
  return proxyPort === undefined ? served : served.replace(/\b9000\b/g, String(proxyPort));
}
