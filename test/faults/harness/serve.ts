/**
 * `tether serve` as a real child process for the fault suite: started with flags on a free port, its RSS read
 * from /proc and its V8 heap and gauges from its own /metrics, SIGKILLed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

export class ServeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<void>;

  private constructor(child: ChildProcess, port: number, exited: Promise<void>) {
    this.child = child;
    this.port = port;
    this.exited = exited;
  }

  /** `flags` are `tether serve` flags (`--outbound-budget-bytes`, ...); port 0, no dashboard, warn logs are set. */
  static async start(flags: string[] = []): Promise<ServeProcess> {
    const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--no-dashboard', '--log-level', 'error', ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tether serve did not start:\n${out}\n${err}`)), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ws:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      void exited.then(() => reject(new Error(`tether serve exited:\n${out}\n${err}`)));
    });
    child.stdout!.resume();
    return new ServeProcess(child, port, exited);
  }

  /** Resident set size from /proc (bytes). */
  rss(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  /** User + system CPU time the process has used (ms, 10 ms ticks), from /proc. */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  }

  /** Samples of /metrics: by name (labelled series summed) and by `name{labels}`. */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || line === '') continue;
      const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[3]));
      if (m[2] !== undefined) out.set(m[1] + m[2], Number(m[3]));
    }
    return out;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
