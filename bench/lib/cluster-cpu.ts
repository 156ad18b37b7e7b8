import { loadavg } from 'node:os';
import { seconds } from './figures.ts';
import { cpuMsOf, machineBusyMs } from './proc-cpu.ts';
import { treeCpuMs } from './proc-tree.ts';

/** The processes of the cluster bench, by what they are. */
export interface ClusterPids {
  nodes: { name: string; pid: number }[];
  fleets: number[];
  postgres: number;
  nats: number;
  haproxy: number;
}

type Reading = Map<string, number>;

function read(p: ClusterPids): Reading {
  const r: Reading = new Map();
  for (const n of p.nodes) r.set(n.name, cpuMsOf(n.pid) ?? NaN);
  r.set(
    'agents',
    p.fleets.reduce((t, pid) => t + (cpuMsOf(pid) ?? NaN), 0),
  );
  r.set('PostgreSQL', treeCpuMs(p.postgres));
  r.set('NATS', cpuMsOf(p.nats) ?? NaN);
  r.set('HAProxy', cpuMsOf(p.haproxy) ?? NaN);
  r.set('machine', machineBusyMs() ?? NaN);
  return r;
}

/** CPU time of each part of the cluster between start() and the returned stop(), for the log and notes. */
export function watchClusterCpu(p: ClusterPids): () => { text: string; machineMs: number } {
  const before = read(p);
  const load = loadavg()[0].toFixed(1);
  return () => {
    const after = read(p);
    const used = [...after].map(([k, v]) => [k, v - (before.get(k) ?? NaN)] as const);
    const parts = used.filter(([k]) => k !== 'machine').map(([k, ms]) => `${k} ${seconds(ms)}`);
    const machineMs = used.find(([k]) => k === 'machine')![1];
    return {
      text: `${parts.join(', ')}; the machine ${seconds(machineMs)} busy (every process, ours and others'), load average ${load} at the start and ${loadavg()[0].toFixed(1)} at the end`,
      machineMs,
    };
  };
}
