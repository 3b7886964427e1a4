/** `tether serve` as a real child process: started from source, resolved with the WebSocket URL it prints. */
import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs `tether serve ...args`; resolves with the child and its Phoenix URL (`ws://host:port/socket`). */
export function serveProcess(args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'serve', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 15 s:\n${out}`)), 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /WebSocket\s+(ws:\/\/\S+)\/websocket/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}
