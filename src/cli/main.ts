#!/usr/bin/env node
/** The `tether` command: argument parsing only; each subcommand module registers itself. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { register as registerServe } from './serve.ts';
import { register as registerConnect } from './connect.ts';
import { register as registerBench } from './bench.ts';
import { register as registerProxy } from './proxy.ts';
import { register as registerTasks } from './tasks.ts';
import { commandPath, reportUsageErrors, usageMessage, USAGE_EXIT_CODE } from './ui/usage.ts';

// The same relative path from src/cli/ and from the published dist/cli/.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('tether')
  .description('Real-time links that do not break: a Phoenix-Channels-compatible server, client and tools')
  .version(version, '-v, --version', 'print the version')
  // Commander throws instead of exiting, so the exit code of a usage error is ours (2) and not its 1.
  .exitOverride();

registerServe(program);
registerConnect(program);
registerBench(program);
registerProxy(program);
registerTasks(program);
for (const command of [program, ...program.commands]) reportUsageErrors(command);
/** The command whose action is running (`tether serve`), so its errors name it. */
let running = 'tether';
program.hook('preAction', (_program, action) => {
  running = commandPath(action);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version asked for are successes; everything else commander raises is a usage error, already
    // printed (`tether` alone prints the help, which is the hint).
    process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : USAGE_EXIT_CODE;
  } else {
    // A ConfigError carries exit code 2 (usage), and like any usage error says where the rest is; anything else is 1.
    const exitCode = (err as { exitCode?: number }).exitCode ?? 1;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(exitCode === USAGE_EXIT_CODE ? usageMessage(running, message) : `${running}: ${message}\n`);
    process.exit(exitCode);
  }
}
