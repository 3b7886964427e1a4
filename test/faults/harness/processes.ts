/**
 * Real child processes for the fault suite: a fixture script run by this same Node binary, talking to the
 * test over IPC. A child announces itself with `{type: 'ready', ...}`; `kill()` is a SIGKILL, no goodbye.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ChildMessage = { type: string; [key: string]: unknown };

export class FixtureProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #listeners = new Set<(message: ChildMessage) => void>();
  #stderr = '';

  constructor(name: string, script: string, env: Record<string, string>) {
    this.name = name;
    this.child = fork(fileURLToPath(new URL(`../fixtures/${script}`, import.meta.url)), [], {
      env: { ...process.env, ...env },
      execPath: process.execPath,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.child.on('message', (message: ChildMessage) => {
      for (const listener of this.#listeners) listener(message);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The last stderr output, for failure messages. */
  get stderr(): string {
    return this.#stderr;
  }

  on(listener: (message: ChildMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The next message of `type` (and matching `filter`), or a rejection after `timeoutMs`. */
  next(type: string, timeoutMs: number, filter: (message: ChildMessage) => boolean = () => true): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.name}: no "${type}" message within ${timeoutMs} ms. stderr:\n${this.#stderr}`));
      }, timeoutMs);
      const off = this.on((message) => {
        if (message.type !== type || !filter(message)) return;
        clearTimeout(timer);
        off();
        resolve(message);
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        off();
        reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) while waiting for "${type}". stderr:\n${this.#stderr}`));
      });
    });
  }

  /** Sends a request and waits for the reply of type `${type}:done`. */
  async request(type: string, body: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<ChildMessage> {
    const done = this.next(`${type}:done`, timeoutMs);
    this.send({ type, ...body });
    return done;
  }

  send(message: ChildMessage): void {
    if (this.child.connected) this.child.send(message);
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts a fixture and waits for its `ready` message. */
export async function startFixture(name: string, script: string, env: Record<string, string>, timeoutMs = 15_000): Promise<{ proc: FixtureProcess; ready: ChildMessage }> {
  const proc = new FixtureProcess(name, script, env);
  try {
    const ready = await proc.next('ready', timeoutMs);
    return { proc, ready };
  } catch (err) {
    await proc.kill();
    throw err;
  }
}

/** Resolves when `check` is true, polling every `everyMs`; rejects with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
