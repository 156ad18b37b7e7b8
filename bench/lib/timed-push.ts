import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { BenchContext } from './bench-case.ts';
import type { Role } from './children.ts';
import { seconds, throughput } from './figures.ts';
import { cpuMsOfAll, cpuMsOfStat } from './proc-cpu.ts';
import { uuidOf, type Rportd } from './product.ts';
import { upload } from './upload-client.ts';
import type { PushPhases } from '../roles/timed-agent.ts';

/** CPU seconds used so far by each thread of a process (Linux /proc), keyed "main" for the main thread, else by thread name and id. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(Number(tid) === pid ? 'main' : `${name}+${Number(tid) - pid}`, cpuMsOfStat(stat) / 1000);
    }
  } catch {
    // not Linux, or gone: no figure
  }
  return out;
}

/** Per-thread CPU seconds between two threadCpu readings: the main thread, the busiest other threads, and the sum. */
function cpuSpent(before: Map<string, number>, after: Map<string, number>): string {
  const d = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
  const total = d.reduce((a, [, v]) => a + v, 0);
  const others = d
    .filter(([k]) => k !== 'main')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6);
  return `${total.toFixed(2)} s CPU (main ${(after.get('main')! - (before.get('main') ?? 0)).toFixed(2)}${others.map(([k, v]) => `, ${k} ${v.toFixed(2)}`).join('')})`;
}

export interface TimedPush {
  /** Upload answered to the outcome. */
  ms: number;
  /** Upload start to the outcome. */
  whole: number;
  /** CPU ms of rportd and the agent from the upload's answer to the outcome. */
  cpu: number;
  phases: PushPhases;
  latency: { toAgent: number; toOutcome: number };
}

/** One upload of file to a timed agent (bench/roles/timed-agent.ts) and its outcome; the placed file is removed after. */
export async function timedPush(
  ctx: BenchContext,
  server: Rportd,
  agent: Role,
  o: { id: string; file: string; dest: string; size: number; label: string },
): Promise<TimedPush> {
  const t0 = performance.now();
  const r = await upload(ctx.children, {
    url: server.uploadUrl,
    file: o.file,
    headers: server.authHeaders,
    fields: [
      ['client_id', o.id],
      ['dest', o.dest],
      ['force', 'true'],
    ],
  });
  if (r.status !== 200 && r.status !== 201)
    throw new Error(`upload: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  const accepted = t0 + r.ms;
  // CPU from the answer to the outcome (the upload's own CPU is mostly before it).
  const [agentCpu, serverCpu] = [threadCpu(agent.pid), threadCpu(server.pid)];
  const cpuBefore = cpuMsOfAll([agent.pid, server.pid]);
  const { lastAt, outcomes } = await server.outcomes(uuidOf(r.body), 1, 120_000);
  const cpu = cpuMsOfAll([agent.pid, server.pid]) - cpuBefore;
  ctx.log(
    `${o.label}: CPU during the push: agent ${cpuSpent(agentCpu, threadCpu(agent.pid))}; rportd ${cpuSpent(serverCpu, threadCpu(server.pid))}`,
  );
  if (outcomes[0].status !== 'success') throw new Error(`the push failed: ${outcomes[0].message}`);
  const phases = await agent.call<PushPhases>('phases');
  // Both clocks are this host's wall clock.
  const latency = {
    toAgent: phases.receivedAt - (performance.timeOrigin + accepted),
    toOutcome: performance.timeOrigin + lastAt - phases.verdictAt,
  };
  ctx.log(
    `${o.label}: upload ${seconds(r.ms)}, push ${seconds(lastAt - accepted)} (${throughput(o.size, lastAt - accepted)}), upload to outcome ${seconds(lastAt - t0)}, CPU ${seconds(cpu)}`,
  );
  ctx.log(
    `${o.label}: at the agent: total ${seconds(phases.total)}, first byte ${seconds(phases.firstByte)}, waiting for the network ${seconds(phases.transferWait)}, hash + write ${seconds(phases.hashAndWrite)}, fsync ${seconds(phases.fsync)}, place ${seconds(phases.place)}`,
  );
  await rm(o.dest, { force: true });
  return { ms: lastAt - accepted, whole: lastAt - t0, cpu, phases, latency };
}
