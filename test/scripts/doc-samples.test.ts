/** The markers `npm run check:package` reads from the docs: how they parse, and that the tours keep them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandsOf, extractSamples, samplesOf, withPort } from '../../scripts/lib/doc-samples.ts';
import { missingLines } from '../../scripts/lib/run.ts';

const doc = [
  '# t',
  '```ts check=server',
  'console.log("ws://127.0.0.1:4000/socket");',
  '```',
  '',
  '```text output',
  'ws://127.0.0.1:4000/socket',
  '```',
  '```ts',
  'not checked();',
  '```',
  '```sh check',
  '# a comment line',
  'tether serve   # stays up',
  "tether connect ws://127.0.0.1:4000/socket \\",
  '  --json',
  '```',
].join('\n');

test('checked blocks, their output blocks and their commands', () => {
  const samples = extractSamples(doc, 'x.md');
  assert.deepEqual(samples.map((s) => [s.where, s.kind, s.output]), [
    ['x.md:2', 'server', ['ws://127.0.0.1:4000/socket']],
    ['x.md:12', 'sh', []],
  ]);
  assert.deepEqual(commandsOf(samples[1]), ['tether serve   # stays up', 'tether connect ws://127.0.0.1:4000/socket --json']);
  assert.equal(withPort('ws://h:4000/socket port: 4000 40000', 5123), 'ws://h:5123/socket port: 5123 40000');
  assert.equal(withPort('tether proxy 9000 4000 # 90000', 5123, 6001), 'tether proxy 6001 5123 # 90000');
  assert.throws(() => extractSamples('```ts check=srv\nx\n```\n', 'y.md'), /y\.md:1: unknown check "check=srv"/);
  assert.throws(() => extractSamples('```text output\nx\n```\n', 'z.md'), /z\.md:1: an output block with no checked block/);
});

test('expected lines must appear in order', () => {
  assert.equal(missingLines('a\n  b \nc\n', ['a', 'c']), null);
  assert.equal(missingLines('a\nc\n', ['c', 'a']), 'a');
});

test('the README tours and the CLI examples stay checked', () => {
  const readme = samplesOf(new URL('../../README.md', import.meta.url).pathname, 'README.md');
  assert.deepEqual(readme.map((s) => s.kind), ['server', 'client']);
  assert.ok(readme.every((s) => s.output.length > 0));
  const cli = samplesOf(new URL('../../docs/cli.md', import.meta.url).pathname, 'docs/cli.md');
  const commands = cli.filter((s) => s.kind === 'sh').flatMap(commandsOf);
  for (const command of ['serve', 'connect', 'bench', 'proxy', '--version']) assert.ok(commands.some((c) => c.startsWith(`tether ${command}`)), `docs/cli.md runs tether ${command}`);
});
