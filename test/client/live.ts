/** Helpers for client tests against our real server on loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer, type ServerOptions } from '../../src/server/index.ts';
import { roomChannel } from '../../src/demo/room-channel.ts';
import { notifyChange } from '../../src/testing/wait.ts';

export async function startRoomServer(options: Partial<ServerOptions> = {}) {
  const server = createServer({ port: 0, host: '127.0.0.1', channels: { 'room:*': roomChannel }, ...options });
  const info = await server.listen();
  return { server, ...info };
}

const NODE = process.execPath;

/** Runs a fixture script in its own Node process; resolves once it prints `listening <port>` (or `ready`). */
export function spawnFixture(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; port: number; lines: string[] }> {
  const path = fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url));
  const child = spawn(NODE, [path, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not become ready`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        lines.push(line);
        notifyChange(`${script}: ${line}`);
        const m = /^listening (\d+)$/.exec(line);
        if (m || line === 'ready') {
          clearTimeout(timer);
          resolve({ child, port: m ? Number(m[1]) : 0, lines });
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready; it printed: ${lines.join(" | ")}`));
    });
  });
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
