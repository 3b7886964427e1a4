/**
 * `tether tasks watch [queue]`: live progress bars per running task, the queue's counters, notifications, and a
 * line when the link drops and when it is back. On a terminal the board is redrawn (at most 10 times a second);
 * otherwise each event worth a line is printed once.
 */
import type { Command } from 'commander';
import { Socket } from '../client/socket.ts';
import { watchQueue, watchSystem, watchQueueStatus } from '../tasks/client.ts';
import { QUEUE_NAME } from '../tasks/types.ts';
import { TaskBoard } from './tasks-board.ts';
import { USAGE_EXIT_CODE, usageMessage } from './ui/usage.ts';

export interface WatchOptions {
  url: string;
  token?: string;
  out?: NodeJS.WriteStream;
}

export function watchTasks(queue: string | undefined, options: WatchOptions): { stop(): Promise<void> } {
  const out = options.out ?? process.stdout;
  const tty = out.isTTY === true;
  const board = new TaskBoard();
  const socket = new Socket(options.url, { params: options.token === undefined ? {} : { token: options.token } });
  let dirty = true;
  const print = (line: string | null) => {
    dirty = true;
    if (!tty && line !== null) out.write(`${line}\n`);
  };
  let everOpen = false;
  socket.on('state', (t) => {
    if (t.to === 'open') {
      print(everOpen ? 'link recovered' : `connected to ${options.url}`);
      board.link = 'up';
      everOpen = true;
    } else if (everOpen && board.link === 'up' && (t.to === 'reconnecting' || t.to === 'connecting')) {
      board.link = `lost (${t.reason}): reconnecting`;
      print(`link lost (${t.reason}): reconnecting`);
    }
  });
  const system = watchSystem(socket);
  system.on('system_notification', (n) => print(board.apply('system_notification', n)));
  if (queue !== undefined) {
    const tasks = watchQueue(socket, queue);
    for (const event of ['task_created', 'task_updated', 'task_completed', 'task_failed', 'queue_status_changed'] as const) {
      tasks.on(event, (payload) => print(board.apply(event, payload)));
    }
    watchQueueStatus(socket, queue).on('snapshot', (s) => print(board.apply('snapshot', s)));
  }
  socket.connect();
  const timer = tty
    ? setInterval(() => {
        if (!dirty) return;
        dirty = false;
        out.write(`\x1b[H\x1b[2J${board.render(out.columns ?? 80, Math.max(5, (out.rows ?? 24) - 10)).join('\n')}\n`);
      }, 100)
    : null;
  return {
    async stop() {
      if (timer !== null) clearInterval(timer);
      await socket.disconnect();
    },
  };
}

export function register(program: Command): void {
  const tasks = program.command('tasks').description('live task queues (docs/tasks.md)');
  tasks
    .command('watch [queue]')
    .description('watch a queue live: progress bars per running task, counters, notifications')
    .option('--url <url>', 'the server socket URL', 'ws://127.0.0.1:4000/socket')
    .option('--token <token>', 'connect token (shared token or a signed user token)')
    .action((queue: string | undefined, opts: { url: string; token?: string }) => {
      if (queue !== undefined && !QUEUE_NAME.test(queue)) {
        process.stderr.write(usageMessage('tether tasks watch', `bad queue name "${queue}" (1-100 characters of A-Z a-z 0-9 . _ -)`));
        process.exit(USAGE_EXIT_CODE);
      }
      const watcher = watchTasks(queue, opts);
      const stop = () => void watcher.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
