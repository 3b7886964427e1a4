/**
 * Usage errors in one line plus a hint, instead of the whole help: `tether connect: unknown option '--jsn'
 * (Did you mean --json?)` then `Run "tether connect --help" for every flag.` Exit code 2.
 */
import type { Command } from 'commander';

export const USAGE_EXIT_CODE = 2;

/** `tether` or `tether connect`. */
export function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}

export function usageHint(path: string): string {
  return `Run "${path} --help" for every ${path.includes(' ') ? 'flag' : 'command'}.`;
}

/** The text a usage error prints: one line saying what is wrong, one line saying where the rest is. */
export function usageMessage(path: string, message: string): string {
  return `${path}: ${message}\n${usageHint(path)}\n`;
}

/** Makes `command` print commander's parse errors (unknown flag, missing argument, bad value) as usageMessage. */
export function reportUsageErrors(command: Command): void {
  const path = commandPath(command);
  command
    .showSuggestionAfterError(true)
    .showHelpAfterError(false)
    .configureOutput({
      // Commander's text is `error: what\n(Did you mean …?)\n`; one line reads better.
      outputError: (text, write) => write(usageMessage(path, text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' '))),
    });
}
