import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU fields (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU milliseconds of a process: user + system (`all`) and system alone (`system`, where page-cache writes, socket copies and page faults show). */
export interface CpuTimes {
  all: number;
  system: number;
}

/**
 * CPU milliseconds of a process from /proc/<pid>/stat: its own time over all its threads, plus, with
 * reaped, the time of its children it has already waited for (and theirs, transitively).
 * Undefined where /proc is missing or the process is gone.
 */
export function cpuTimesOf(pid: number | 'self', reaped = false): CpuTimes | undefined {
  try {
    return cpuTimesOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), reaped);
  } catch {
    return undefined;
  }
}

/** The same from the text of a stat file: /proc/<pid>/stat, or one thread's /proc/<pid>/task/<tid>/stat. */
export function cpuTimesOfStat(stat: string, reaped = false): CpuTimes {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of stat(5): utime, stime, cutime, cstime (f starts at field 3).
  const user = Number(f[11]) + (reaped ? Number(f[13]) : 0);
  const system = Number(f[12]) + (reaped ? Number(f[14]) : 0);
  return { all: ((user + system) * 1000) / TICKS_PER_SECOND, system: (system * 1000) / TICKS_PER_SECOND };
}

/**
 * CPU milliseconds of a process's main thread alone (/proc/<pid>/task/<pid>/stat): in Node, the thread
 * that runs all JavaScript, so a process that holds many agents can go no faster than it.
 */
export function mainThreadTimesOf(pid: number): CpuTimes | undefined {
  try {
    return cpuTimesOfStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** User + system CPU milliseconds of a process (see cpuTimesOf). */
export const cpuMsOf = (pid: number | 'self', reaped = false): number | undefined =>
  cpuTimesOf(pid, reaped)?.all;

/** User + system CPU milliseconds from the text of a stat file (see cpuTimesOfStat). */
export const cpuMsOfStat = (stat: string, reaped = false): number => cpuTimesOfStat(stat, reaped).all;

/** CPU a process used since `before` (NaN where either reading failed). */
export function cpuSince(pid: number, before: CpuTimes | undefined): CpuTimes {
  const now = cpuTimesOf(pid);
  return {
    all: (now?.all ?? NaN) - (before?.all ?? NaN),
    system: (now?.system ?? NaN) - (before?.system ?? NaN),
  };
}

/** CPU milliseconds of several processes together (NaN when one cannot be read). */
export function cpuMsOfAll(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuMsOf(pid) ?? NaN), 0);
}

/**
 * CPU milliseconds the whole machine has spent busy since boot, over every core (/proc/stat: user,
 * nice, system, irq, softirq, steal): every process and the kernel's own threads (write-back, the
 * block layer), which no process's figure shows. Undefined where /proc is missing.
 */
export function machineBusyMs(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
    return (busy * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
