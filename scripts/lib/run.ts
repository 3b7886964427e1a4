/** Child processes for `npm run check:package`: run to completion, or keep running until told to stop. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` with `args` (stdin empty) and resolves when it exits, or rejects after `timeoutMs`. */
export function run(command: string, args: string[], options: SpawnOptions & { timeoutMs: number }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: still running after ${options.timeoutMs} ms\n${stdout}${stderr}`));
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A process that keeps running: its output so far, and a way to wait for lines and to stop it. */
export class Background {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  #exited: Promise<number | null>;

  constructor(command: string, args: string[], options: SpawnOptions) {
    this.child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.#exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  }

  /** Resolves once stdout holds every line of `expected`, in order (each compared trimmed); rejects if the process exits first. */
  async waitFor(expected: string[], timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.#exited.then(() => (exited = true));
    for (;;) {
      const missing = missingLines(this.stdout, expected);
      if (missing === null) return;
      if (exited || Date.now() > deadline) {
        throw new Error(`${what}: ${exited ? 'exited' : `not within ${timeoutMs} ms`} before printing "${missing}"\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 5000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.#exited;
    clearTimeout(kill);
    return code;
  }
}

/** The first expected line not found (in order) among the output's lines, or null when all are there. */
export function missingLines(output: string, expected: string[]): string | null {
  const lines = output.split('\n').map((l) => l.trim());
  let at = 0;
  for (const want of expected) {
    const found = lines.indexOf(want, at);
    if (found < 0) return want;
    at = found + 1;
  }
  return null;
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
