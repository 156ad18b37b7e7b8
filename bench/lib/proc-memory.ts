import { readFileSync, writeFileSync } from 'node:fs';

export const MB = 1e6;
export const MiB = 1024 * 1024;

export interface Memory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size (VmHWM) since start or the last reset, bytes. */
  hwm: number;
}

/** VmRSS/VmHWM of a process from /proc; undefined once it has exited. */
export function memoryOf(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux: "5" into clear_refs); false when not permitted. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * The peak RSS of some processes over a window: VmHWM after a reset where the kernel allows it,
 * and VmRSS sampled every few ms as well (the larger of both counts).
 */
export class PeakWatch {
  private readonly peaks = new Map<number, number>();
  private readonly resettable = new Set<number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: number[],
    everyMs = 20,
  ) {
    for (const pid of pids) {
      if (resetPeak(pid)) this.resettable.add(pid);
      this.peaks.set(pid, memoryOf(pid)?.rss ?? 0);
    }
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    for (const pid of this.pids) {
      const m = memoryOf(pid);
      if (m)
        this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, m.rss, this.resettable.has(pid) ? m.hwm : 0));
    }
  }

  /** Stops sampling; the peak RSS of each pid in bytes. */
  stop(): Map<number, number> {
    this.sample();
    clearInterval(this.timer);
    return this.peaks;
  }
}

/** RSS now in bytes (0 when the process is gone). */
export const rssOf = (pid: number): number => memoryOf(pid)?.rss ?? 0;
