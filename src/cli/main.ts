#!/usr/bin/env node
/** The `tether` command: argument parsing only; each subcommand module registers itself. */
import { Command } from 'commander';
import { register as registerServe } from './serve.ts';
import { register as registerConnect } from './connect.ts';
import { register as registerBench } from './bench.ts';
import { register as registerProxy } from './proxy.ts';

const program = new Command('tether')
  .description('Real-time links that do not break: a Phoenix-Channels-compatible server, client and tools')
  .showHelpAfterError();

registerServe(program);
registerConnect(program);
registerBench(program);
registerProxy(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`tether: ${err instanceof Error ? err.message : String(err)}\n`);
  // A ConfigError carries exit code 2 (usage); anything else is 1.
  process.exit((err as { exitCode?: number }).exitCode ?? 1);
}
