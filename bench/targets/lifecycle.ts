/**
 * What every target server process shares with the runner: it prints `READY <port>` on stdout once it listens,
 * runs a full GC (the runner starts it with --expose-gc) or writes a heap snapshot when asked over IPC, and
 * exits when the runner goes.
 */
import { writeHeapSnapshot } from 'node:v8';
import type { TargetCommand } from '../lib/messages.ts';

/** What a server still holds; after churn both must be back to zero. */
export interface Holdings {
  connections: number;
  topics: number;
}

/** `probe`: answers the `probe` command (a workload's own figures from inside the server); `{}` without one. */
export function announceReady(port: number, close: () => unknown, holdings: () => Holdings, probe?: (reset: boolean) => object): void {
  process.stdout.write(`READY ${port}\n`);
  process.on('message', (cmd: TargetCommand) => {
    if (cmd.op === 'probe') {
      process.send!({ op: 'probe', ...probe?.(cmd.reset) });
      return;
    }
    if (cmd.op === 'heapSnapshot') {
      writeHeapSnapshot(cmd.path);
      process.send!({ op: 'heapSnapshot' });
      return;
    }
    const gc = (globalThis as { gc?: () => void }).gc;
    // Two passes: the first can leave objects whose finalizers only release memory on the next.
    gc?.();
    gc?.();
    process.send!({ op: 'gc', done: gc !== undefined, heapUsed: process.memoryUsage().heapUsed, ...holdings() });
  });
  const exit = async (): Promise<void> => {
    await Promise.race([close(), new Promise((r) => setTimeout(r, 2000))]);
    process.exit(0);
  };
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);
}
