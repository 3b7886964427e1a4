/** How many sockets one process may hold on this machine. */
import { execFileSync } from 'node:child_process';

const hardLimit = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
/** The per-process fd hard limit (children raise their soft limit to it; it cannot be raised without privileges). */
export const FD_LIMIT = hardLimit === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hardLimit) || 1024;
/** Client sockets one server (or load worker) process can hold: the fd limit minus a margin for its own files. */
export const MAX_SERVER_CONNECTIONS = FD_LIMIT - 100;
