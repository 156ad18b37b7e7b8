import { readdirSync, readFileSync } from 'node:fs';
import { cpuMsOf } from './proc-cpu.ts';

/** A process and all its descendants, from the parent pid in each /proc/<pid>/stat. */
export function treePids(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone since the listing
    }
  }
  const all: number[] = [];
  for (let todo = [root]; todo.length > 0;) {
    const pid = todo.pop()!;
    all.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return all;
}

/**
 * CPU milliseconds of a process tree: the root with the children it has reaped, and each
 * descendant alive now. A descendant that exits between two readings takes its time out of the
 * sum until the root reaps it, so read a tree whose members live long (a server's pool).
 */
export function treeCpuMs(root: number): number {
  return treePids(root).reduce((sum, pid) => sum + (cpuMsOf(pid, pid === root) ?? 0), 0);
}
