/**
 * `npm run bench`: runs the selected workloads against each target server (raw `ws`, Socket.IO, Tether), each in
 * its own process, prints one table per workload with Tether's ratios to both baselines, and writes
 * `<out>/<date>.md` plus `<date>.json` (or `--out FILE.md` and its `.json`). Flags: see lib/options.ts or `npm run bench -- --help`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BenchContext } from './lib/context.ts';
import { parseOptions, type Workload } from './lib/options.ts';
import { environment, load, toConsole, toMarkdown, type Table } from './lib/report.ts';
import { runCapacity } from './workloads/capacity.ts';
import { runChurn } from './workloads/churn.ts';
import { runFanout } from './workloads/fanout.ts';
import { runHold } from './workloads/hold.ts';
import { runLongPoll } from './workloads/longpoll.ts';
import { runReqReply } from './workloads/reqreply.ts';
import { runTasks } from './workloads/tasks.ts';

const RUNNERS: Record<Workload, (ctx: BenchContext) => Promise<Table>> = {
  capacity: runCapacity,
  fanout: runFanout,
  reqreply: runReqReply,
  churn: runChurn,
  hold: runHold,
  tasks: runTasks,
  longpoll: runLongPoll,
};

const options = parseOptions(process.argv.slice(2));
// Read by the target servers and load workers (children inherit the environment).
if (options.compression) process.env.BENCH_COMPRESSION = '1';
const started = new Date();
const loadAtStart = load();
const ctx = new BenchContext(options);
const tables: Table[] = [];
try {
  for (const workload of options.workloads) {
    ctx.log(`${workload}: ${workload === 'tasks' || workload === 'longpoll' ? 'tether' : options.targets.join(', ')}`);
    const table = await RUNNERS[workload](ctx);
    tables.push(table);
    console.log(`\n${toConsole(table)}\n`);
  }
} finally {
  await ctx.close();
}

const date = started.toISOString().slice(0, 10);
const seconds = Math.round((Date.now() - started.getTime()) / 1000);
const markdown = [
  `# Benchmark results, ${date}`,
  '',
  `Run \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (${options.mode} mode) at ${started.toISOString()}, ${seconds} s.`,
  ...environment(loadAtStart).map((line) => `- ${line}`),
  '',
  ...tables.map((t) => `${toMarkdown(t)}\n`),
].join('\n');
mkdirSync(options.outDir, { recursive: true });
const name = options.outName ?? date;
const file = join(options.outDir, `${name}.md`);
writeFileSync(file, markdown);
// The recorded options name the results folder relative to the working directory: no machine's paths in results.
const recorded = { ...options, outDir: relative(process.cwd(), options.outDir) || '.' };
writeFileSync(join(options.outDir, `${name}.json`), JSON.stringify({ date: started.toISOString(), options: recorded, tables }, null, 2));
console.log(`results written to ${file} (${seconds} s)`);
