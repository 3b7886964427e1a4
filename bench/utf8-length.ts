/**
 * `node bench/utf8-length.ts [--browser]`: what the client pays to count a text frame's UTF-8 bytes (bytesIn,
 * bytesOut, the maxFrameBytes check), per frame, for the two ways `utf8Length` (src/client/endpoint.ts) counts:
 * `scan` (a native search for the first non-ASCII character, then a JavaScript loop from there; all it did
 * before) and `encodeInto` (TextEncoder.encodeInto into a reused 16 KiB buffer, piece by piece), beside a
 * `JSON.parse` of the same frame (which every received frame costs anyway). Frames: ASCII, mostly ASCII with one
 * accented character near the start (the loop's worst case), and CJK text. `--browser` runs the same functions
 * in headless Chromium (test/helpers/browser.ts) as well. Prints ns per frame (median of 5 rounds).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { utf8Length } from '../src/client/endpoint.ts';

const { values } = parseArgs({ options: { browser: { type: 'boolean', default: false } } });

/** Self-contained, so a page can run it too (it is sent to the browser as source text, with utf8Length's). */
function measure(scanSource: string): { label: string; chars: number; utf8: number; scan: number; encodeInto: number; parse: number }[] {
  // The client's own function, from its source text (a page cannot import it); it reads NON_ASCII.
  const scanLength = new Function(`const NON_ASCII = /[^\\x00-\\x7f]/; return (${scanSource})`)() as (text: string) => number;
  const encoder = new TextEncoder();
  const scratch = new Uint8Array(16 * 1024);
  const encodeIntoLength = (text: string) => {
    let bytes = 0;
    for (let at = 0; at < text.length; ) {
      const { read, written } = encoder.encodeInto(at === 0 ? text : text.slice(at), scratch);
      at += read;
      bytes += written;
    }
    return bytes;
  };
  const frame = (body: string) => JSON.stringify([null, null, 'room:lobby', 'msg', { body, at: 1732990000000 }]);
  const cases: [string, string][] = [
    ['ASCII 100 B', frame('x'.repeat(40))],
    ['ASCII 1 KiB', frame('hello world '.repeat(80))],
    ['ASCII 16 KiB', frame('hello world '.repeat(1350))],
    ['1 KiB, é near the start', frame(`é${'hello world '.repeat(80)}`)],
    ['16 KiB, é near the start', frame(`é${'hello world '.repeat(1350)}`)],
    ['CJK 1 KiB', frame('你好世界'.repeat(85))],
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = (fn: (s: string) => unknown, s: string) => {
    const n = Math.max(200, Math.floor(2_000_000 / s.length));
    const rounds: number[] = [];
    let sink = 0;
    for (let r = 0; r < 6; r++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) sink += fn(s) === undefined ? 0 : 1;
      const ns = ((performance.now() - t0) * 1e6) / n;
      if (r > 0) rounds.push(ns);
    }
    if (sink < 0) throw new Error('unreachable');
    return median(rounds);
  };
  return cases.map(([label, s]) => {
    if (scanLength(s) !== encodeIntoLength(s)) throw new Error(`lengths differ for ${label}`);
    return { label, chars: s.length, utf8: encodeIntoLength(s), scan: time(scanLength, s), encodeInto: time(encodeIntoLength, s), parse: time(JSON.parse, s) };
  });
}

function print(where: string, rows: ReturnType<typeof measure>): void {
  console.log(`\n${where}: ns per frame, median of 5 rounds`);
  console.log('frame                       UTF-8 bytes        scan  encodeInto  JSON.parse  scan/parse  encodeInto/parse');
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(26)}  ${String(r.utf8).padStart(11)}  ${r.scan.toFixed(0).padStart(10)}  ${r.encodeInto.toFixed(0).padStart(10)}  ${r.parse.toFixed(0).padStart(10)}` +
        `  ${`${((r.scan / r.parse) * 100).toFixed(0)} %`.padStart(10)}  ${`${((r.encodeInto / r.parse) * 100).toFixed(0)} %`.padStart(16)}`,
    );
  }
}

console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
print(`Node ${process.version}`, measure(utf8Length.toString()));
if (values.browser) {
  const { launchChromium } = await import('../test/helpers/browser.ts');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // A string, not a function: the page evaluates the source as Node has it (types already stripped).
    const rows = (await page.evaluate(`(${measure.toString()})(${JSON.stringify(utf8Length.toString())})`)) as ReturnType<typeof measure>;
    print(`Chromium ${browser.version()}`, rows);
  } finally {
    await browser.close();
  }
}
