/**
 * Line output with an optional live line at the bottom. On a terminal the live line is the readline prompt
 * (a status such as `open · 1.2 ms · room:lobby ›`) and printed lines appear above it without disturbing what
 * the user is typing; elsewhere lines are printed plainly and there is no prompt.
 */
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';

export interface TerminalOptions {
  input?: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** Read command lines from input. */
  readLines: boolean;
}

export class Terminal {
  readonly #output: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #rl: Interface | null;
  #live: boolean;
  #closed = false;
  #status = '';

  constructor(options: TerminalOptions) {
    this.#output = options.output;
    this.#rl = options.readLines && options.input
      ? createInterface({ input: options.input, output: options.output, terminal: options.output.isTTY === true && (options.input as { isTTY?: boolean }).isTTY === true })
      : null;
    this.#live = this.#rl !== null && this.#rl.terminal;
    // Once input closes (Ctrl-C, Ctrl-D, end of a pipe) there is no prompt to redraw.
    this.#rl?.on('close', () => {
      if (this.#live) {
        clearLine(this.#output, 0);
        cursorTo(this.#output, 0);
      }
      this.#live = false;
      this.#closed = true;
    });
  }

  /** True when there is a prompt line (interactive terminal). */
  get live(): boolean {
    return this.#live;
  }

  onLine(listener: (line: string) => void): void {
    this.#rl?.on('line', (line) => {
      listener(line);
      if (this.#live) this.#rl?.prompt();
    });
  }

  /** Called once input ends (Ctrl-D, end of a pipe) or Ctrl-C on a terminal. */
  onEnd(listener: () => void): void {
    this.#rl?.on('close', listener);
  }

  print(line: string): void {
    if (!this.#live) {
      this.#output.write(`${line}\n`);
      return;
    }
    clearLine(this.#output, 0);
    cursorTo(this.#output, 0);
    this.#output.write(`${line}\n`);
    this.#rl?.prompt(true);
  }

  /** Replaces the live line's text (shown as the prompt). */
  setStatus(status: string): void {
    if (!this.#live || status === this.#status) return;
    this.#status = status;
    this.#rl?.setPrompt(`${status} › `);
    this.#rl?.prompt(true);
  }

  close(): void {
    if (!this.#closed) this.#rl?.close();
  }
}
