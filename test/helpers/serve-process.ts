/** `tether serve` (or any command that prints its URLs like it) as a real child process; killed, whole group, when the file ends. */
import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the whole group has already exited
    }
  }
});

export interface Running {
  child: ChildProcess;
  /** `ws://127.0.0.1:PORT/socket` */
  wsUrl: string;
  httpUrl: string;
  output: () => string;
  /** The exit code, or null after a signal. */
  exited: Promise<number | null>;
  /** True until the process has exited. */
  alive: () => boolean;
}

/** Starts the command in the repository root and resolves once it has printed its WebSocket and HTTP URLs. */
export function runServer(command: string, args: string[], env: Record<string, string> = {}): Promise<Running> {
  // The embedded single-process defaults: no REDIS_URL (the test runner exports one for the Redis suites).
  const { REDIS_URL: _ignored, ...inherited } = process.env;
  const child = spawn(command, args, { cwd: root, env: { ...inherited, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running = false;
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 15 s:\n${out}`)), 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const ws = /WebSocket\s+(wss?:\/\/\S+)\/websocket/.exec(out);
      const http = /HTTP\s+(https?:\/\/\S+)/.exec(out);
      if (ws && http) {
        clearTimeout(timer);
        resolve({ child, wsUrl: ws[1], httpUrl: http[1], output: () => out, exited, alive: () => running });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

/** `tether serve --port 0` from source, with extra flags. */
export function startServe(args: string[] = [], env: Record<string, string> = {}): Promise<Running> {
  return runServer(process.execPath, ['src/cli/main.ts', 'serve', '--port', '0', ...args], env);
}

/** `tether serve ARGS` from source, as the drain and Redis end-to-end tests start it: the child and its socket URL. */
export async function serveProcess(args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  const running = await runServer(process.execPath, ['src/cli/main.ts', 'serve', ...args]);
  return { child: running.child, url: running.wsUrl };
}
