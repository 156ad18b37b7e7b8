import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU fields (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU milliseconds of a process from /proc/<pid>/stat: its own user + system time over all its threads,
 * plus, with reaped, the time of its children it has already waited for (and theirs, transitively).
 * Undefined where /proc is missing or the process is gone.
 */
export function cpuMsOf(pid: number | 'self', reaped = false): number | undefined {
  try {
    return cpuMsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), reaped);
  } catch {
    return undefined;
  }
}

/** The same from the text of a stat file: /proc/<pid>/stat, or one thread's /proc/<pid>/task/<tid>/stat. */
export function cpuMsOfStat(stat: string, reaped = false): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of stat(5): utime, stime, cutime, cstime (f starts at field 3).
  const ticks = Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** System (kernel) CPU milliseconds of a process, all threads: where page-cache writes, socket copies and page faults show. */
export function sysMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU milliseconds of several processes together (NaN when one cannot be read). */
export function cpuMsOfAll(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuMsOf(pid) ?? NaN), 0);
}
