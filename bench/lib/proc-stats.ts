/** Reads a process's resident memory and CPU time from /proc (Linux only, like the bench itself). */
import { readFileSync } from 'node:fs';

// USER_HZ is 100 on every mainstream Linux build; /proc/<pid>/stat counts in those ticks.
const TICK_MICROS = 10_000;

export interface ProcSample {
  rssBytes: number;
  /** User + system CPU time. */
  cpuMicros: number;
  /** The kernel's share of cpuMicros (socket writes and, on loopback, much of the peer's receive path). */
  sysMicros: number;
  /** Bytes the process passed to write-like syscalls (/proc/<pid>/io wchar): for a server, mostly socket writes. */
  writtenBytes: number;
}

export function sampleProcess(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const sys = Number(fields[12]);
  const ticks = Number(fields[11]) + sys;
  return { rssBytes: rss ? Number(rss[1]) * 1024 : 0, cpuMicros: ticks * TICK_MICROS, sysMicros: sys * TICK_MICROS, writtenBytes: written(pid) };
}

function written(pid: number): number {
  try {
    const io = /wchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return io ? Number(io[1]) : 0;
  } catch {
    return 0;
  }
}
