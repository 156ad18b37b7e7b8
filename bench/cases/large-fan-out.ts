import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { BenchCase } from '../lib/bench-case.ts';
import { measureCpuFloor, type CpuFloor } from '../lib/cpu-floor.ts';
import { median, seconds, speedRatio, throughput } from '../lib/figures.ts';
import { parallelScpMissing, startSshdHosts, type SshdHosts } from '../lib/parallel-scp.ts';
import { cpuMsOf } from '../lib/proc-cpu.ts';
import { forkFleet, productMissing, startRportd, uuidOf, type Rportd } from '../lib/product.ts';
import { MiB } from '../lib/proc-memory.ts';
import { writeRandomFile } from '../lib/test-file.ts';
import { upload } from '../lib/upload-client.ts';

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Round {
  ms: number;
  /** CPU milliseconds of every process of that side (see the figure's note). */
  cpu: number;
  /** Of which rportd's and the agents' process's (ours only). */
  parts?: { rportd: number; agents: number };
}

/** CPU of this process and the children it reaped (curl; parallel-scp, its scp and ssh), plus the given processes (reaped children included). */
const cpuNow = (pids: number[]): number =>
  (cpuMsOf('self', true) ?? NaN) + pids.reduce((sum, pid) => sum + (cpuMsOf(pid, true) ?? NaN), 0);

/** CPU milliseconds of these processes (reaped children included). */
const cpuOfAll = (pids: number[]): number => pids.reduce((sum, pid) => sum + (cpuMsOf(pid, true) ?? NaN), 0);

type Ctx = Parameters<BenchCase['run']>[0];

/**
 * n agents as deployed: one rport process per host, each holding one agent (parallel-scp, likewise,
 * runs one scp and one ssh per host). The bench's fleets hold many agents in one process to reach
 * 1,000; for 20 hosts that would put every agent's md5 and decryption on one thread, which no real
 * fleet does.
 */
async function startAgents(ctx: Ctx, server: Rportd, name: string, n: number) {
  const fleets = Array.from({ length: n }, (_, i) => forkFleet(ctx, server, `${name}-${i}`));
  const started = await Promise.all(fleets.map((f, i) => f.start(1, `${name}-${i}`, 60_000)));
  const failed = started.filter((s) => s.failed);
  if (failed.length)
    throw new Error(`${failed.length} ${name} did not register: ${failed[0].lastError ?? ''}`);
  return {
    ids: started.flatMap((s) => s.ids),
    pids: fleets.map((f) => f.pid),
    /** Warnings logged by every agent so far (a TLS fetch that fell back to SFTP logs one). */
    warnings: async () => (await Promise.all(fleets.map((f) => f.stats()))).reduce((a, s) => a + s.warn, 0),
    stop: () => Promise.all(fleets.map((f) => f.stop())),
  };
}

/** Our push to every agent: upload start to the last outcome on the results WebSocket. */
async function ourPush(
  ctx: Ctx,
  server: Rportd,
  agentPids: number[],
  ids: string[],
  file: string,
  dest: string,
): Promise<Round> {
  // Every round writes a new file, as a first rollout does and as parallel-scp's rounds do: a forced
  // push over an identical file would also compare the old bytes (the outcome's `changed`).
  await rm(dest, { force: true });
  const cpu0 = cpuNow([server.pid, ...agentPids]);
  const [server0, fleet0] = [cpuMsOf(server.pid, true) ?? NaN, cpuOfAll(agentPids)];
  const t0 = performance.now();
  const r = await upload(ctx.children, {
    url: server.uploadUrl,
    file,
    headers: server.authHeaders,
    fields: [...ids.map((id): [string, string] => ['client_id', id]), ['dest', dest], ['force', 'true']],
  });
  if (r.status !== 200 && r.status !== 201)
    throw new Error(`upload: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  const { lastAt, outcomes } = await server.outcomes(uuidOf(r.body), ids.length, 300_000);
  const cpu = cpuNow([server.pid, ...agentPids]) - cpu0;
  const parts = {
    rportd: (cpuMsOf(server.pid, true) ?? NaN) - server0,
    agents: cpuOfAll(agentPids) - fleet0,
  };
  const failed = outcomes.filter((o) => o.status !== 'success');
  if (failed.length)
    throw new Error(`${failed.length} of ${ids.length} pushes did not succeed: ${failed[0].message}`);
  return { ms: lastAt - t0, cpu, parts };
}

/** parallel-scp to every host, then removes what it wrote (after the clock stops). */
async function referenceCopy(hosts: SshdHosts, file: string, size: number): Promise<Round> {
  const cpu0 = cpuNow([hosts.pid]);
  const { ms, stdout } = await hosts.copy(file, 'large-fan-out.bin');
  // sshd reaps its session processes just after the clients exit: wait for that, so their CPU counts.
  await new Promise((r) => setTimeout(r, 200));
  const cpu = cpuNow([hosts.pid]) - cpu0;
  const ok = stdout.split('\n').filter((l) => l.includes('[SUCCESS]')).length;
  if (ok !== hosts.destDirs.length)
    throw new Error(`parallel-scp: ${ok} of ${hosts.destDirs.length} hosts succeeded: ${stdout.slice(-500)}`);
  const { stat } = await import('node:fs/promises');
  for (const d of hosts.destDirs) {
    const s = await stat(join(d, 'large-fan-out.bin'));
    if (s.size !== size) throw new Error(`parallel-scp left ${s.size} bytes in ${d}, not ${size}`);
    await rm(join(d, 'large-fan-out.bin'));
  }
  return { ms, cpu };
}

const largeFanOut: BenchCase = {
  name: 'large-fan-out',
  summary:
    'a 64 MiB file to 20 agents, against pssh parallel-scp to 20 hosts of a private sshd and the CPU floor (AES-GCM, md5, write)',
  timeoutMs: 600_000,
  async run(ctx) {
    const size = (ctx.quick ? 8 : 64) * MiB;
    const n = ctx.quick ? 5 : 20;
    const rounds = ctx.quick ? 1 : 3;
    const label = `large fan-out ${size / MiB} MiB to ${n}`;
    const file = join(ctx.tmp, 'package.bin');
    await writeRandomFile(file, size);
    const loads = [load()];
    ctx.log(`load average at start: ${loads[0]}`);

    const noRef = parallelScpMissing();
    if (noRef) ctx.log(`parallel-scp reference skipped: ${noRef}`);
    const hosts = noRef ? undefined : await startSshdHosts(ctx.children, join(ctx.tmp, 'sshd'), n);
    const missing = productMissing();
    if (missing) ctx.log(`ours skipped: ${missing}`);
    // Ours with the default config: the TLS fetch on the SSH port (docs/adr/0009).
    const server = missing ? undefined : await startRportd(ctx, { name: 'rportd' });
    const agents = server ? await startAgents(ctx, server, 'agent', n) : undefined;
    // SFTP, the spec's transport and the fallback: a second rportd with file_tls = false and its own agents.
    const sftpServer = missing ? undefined : await startRportd(ctx, { name: 'rportd-sftp', fetch: 'sftp' });
    const sftpAgents = sftpServer ? await startAgents(ctx, sftpServer, 'sftp-agent', n) : undefined;
    const dest = join(ctx.tmp, 'dest', 'large-fan-out.bin');
    const ours: Round[] = [];
    const oursSftp: Round[] = [];
    const refs: Round[] = [];
    const floors: CpuFloor[] = [];
    try {
      // Each round runs the three one after the other, so each sees the machine as the others did.
      for (let round = 1; round <= rounds; round++) {
        // The default and SFTP alternate which goes first.
        const ways = [
          { name: 'ours', server, agents, into: ours },
          { name: 'ours over SFTP', server: sftpServer, agents: sftpAgents, into: oursSftp },
        ];
        for (const w of round % 2 === 1 ? ways : ways.reverse()) {
          if (!w.server || !w.agents) continue;
          const warned = await w.agents.warnings();
          const o = await ourPush(ctx, w.server, w.agents.pids, w.agents.ids, file, dest);
          w.into.push(o);
          // A TLS fetch that fell back to SFTP logs a warning: the default's row would then measure SFTP.
          const more = (await w.agents.warnings()) - warned;
          if (more > 0)
            throw new Error(`${w.name}: the agents logged ${more} warnings during the push (a fallback?)`);
          ctx.log(
            `round ${round}: ${w.name} ${seconds(o.ms)} (${throughput(size * n, o.ms)}), CPU ${seconds(o.cpu)} (rportd ${seconds(o.parts?.rportd)}, agents ${seconds(o.parts?.agents)})`,
          );
        }
        if (hosts) {
          const r = await referenceCopy(hosts, file, size);
          refs.push(r);
          ctx.log(
            `round ${round}: parallel-scp ${seconds(r.ms)} (${throughput(size * n, r.ms)}), CPU ${seconds(r.cpu)}`,
          );
        }
        const f = measureCpuFloor(file, n, join(ctx.tmp));
        floors.push(f);
        ctx.log(
          `round ${round}: CPU floor ${seconds(f.floorMs)} (${seconds(f.all)} CPU over ${f.cores} cores: seal ${seconds(f.seal)}, open ${seconds(f.open)}, md5 ${seconds(f.md5)}, write ${seconds(f.write)}); load ${load()}`,
        );
      }
    } finally {
      await agents?.stop();
      await server?.stop();
      await sftpAgents?.stop();
      await sftpServer?.stop();
      await hosts?.stop();
    }
    loads.push(load());
    const our = median(ours.map((r) => r.ms));
    const ref = median(refs.map((r) => r.ms));
    const floor = median(floors.map((f) => f.floorMs));
    const part = (k: keyof CpuFloor): string | undefined => seconds(median(floors.map((f) => f[k])));
    ctx.add({
      figure: `${label}: upload start to the last outcome, vs pssh parallel-scp`,
      ours: seconds(our),
      reference: seconds(ref),
      ratio: speedRatio(our, ref),
      target: '>= 4.00x',
      met: our && ref ? ref / our >= 4 : undefined,
      note:
        `median of ${rounds} rounds, each ours, then parallel-scp, then the CPU floor; load average ${loads.join(' at start, ')} at the end. ` +
        `Ours: curl's upload to rportd naming the ${n} agents (one process per agent, as deployed; each round starts without the destination file), which fetch over TLS 1.3 on the SSH port (the default, docs/adr/0009), to the last outcome on the results WebSocket (md5, fsync, rename), ${throughput(size * n, our) ?? 'n/a'} in all. ` +
        `Reference: \`parallel-scp -p ${n}\` (pssh, which runs \`scp -qC\`: compressed, default cipher) to ${n} ports of one private sshd, each port's sessions confined to a directory of their own, process start to exit${noRef ? `; not measured: ${noRef}` : ''}${missing ? `; ours not measured: ${missing}` : ''}`,
    });
    ctx.add({
      figure: `${label}: upload start to the last outcome, vs the CPU floor (CPU time / cores)`,
      ours: seconds(our),
      reference: seconds(floor),
      ratio: speedRatio(our, floor),
      target: '>= 0.50x (within 2x)',
      met: our && floor ? our <= 2 * floor : undefined,
      note:
        `the floor: CPU time (process.cpuUsage, every thread) to seal and open the ${n} copies with AES-128-GCM (node:crypto, 256 KiB pieces), md5 them, and write them (no fsync) to the filesystem the agents write to, divided by the ${floors[0]?.cores ?? 'n/a'} cores; median of ${floors.length}. ` +
        `Parts: seal ${part('seal')}, open ${part('open')}, md5 ${part('md5')}, write ${part('write')}. No schedule of that work alone finishes sooner; ours also uploads and stages the file once`,
    });
    const sftp = median(oursSftp.map((r) => r.ms));
    const cpuSftp = median(oursSftp.map((r) => r.cpu).filter(Number.isFinite));
    ctx.add({
      figure: `${label} over SFTP (file_tls = false): upload start to the last outcome, vs pssh parallel-scp`,
      ours: seconds(sftp),
      reference: seconds(ref),
      ratio: speedRatio(sftp, ref),
      target: 'report',
      note: `the same push to a second rportd with [server] file_tls = false and its own ${n} agent processes, which fetch over SFTP in their SSH connections (the spec's transport, and the fallback); rounds alternate which of the two goes first. Against the floor: ${speedRatio(sftp, floor)?.toFixed(2) ?? 'n/a'}x; the default against SFTP in the same rounds: ${speedRatio(our, sftp)?.toFixed(2) ?? 'n/a'}x (above 1: the default faster)`,
    });
    const cpuOurs = median(ours.map((r) => r.cpu).filter(Number.isFinite));
    const cpuRef = median(refs.map((r) => r.cpu).filter(Number.isFinite));
    const cpuFloor = median(floors.map((f) => f.all));
    ctx.add({
      figure: `${label}: CPU time of every process, ours vs parallel-scp`,
      ours: seconds(cpuOurs),
      reference: seconds(cpuRef),
      ratio: cpuOurs && cpuRef ? cpuOurs / cpuRef : undefined,
      target: 'report',
      note:
        "user + system, all threads, median: ours is rportd, the agents' processes and curl (with the bench's own process); parallel-scp's is parallel-scp, its scp and ssh processes (reaped by the bench) and sshd's session processes (reaped by sshd). " +
        'Unlike the times, CPU time hardly depends on what else runs on the machine. ratio = ours / reference (lower is better)',
    });
    ctx.add({
      figure: `${label}: CPU time of every process, ours vs the floor's CPU`,
      ours: seconds(cpuOurs),
      reference: seconds(cpuFloor),
      ratio: cpuOurs && cpuFloor ? cpuOurs / cpuFloor : undefined,
      target: 'report',
      note: 'ratio = ours / the floor (lower is better): how much more CPU than the least the work needs',
    });
    ctx.add({
      figure: `${label}: CPU time of every process, ours (TLS, the default) vs over SFTP`,
      ours: seconds(cpuOurs),
      reference: seconds(cpuSftp),
      ratio: cpuOurs && cpuSftp ? cpuOurs / cpuSftp : undefined,
      target: 'report',
      note: `ratio = TLS / SFTP (lower is better); SFTP against the floor's CPU: ${cpuSftp && cpuFloor ? (cpuSftp / cpuFloor).toFixed(2) : 'n/a'}x, against parallel-scp's: ${cpuSftp && cpuRef ? (cpuSftp / cpuRef).toFixed(2) : 'n/a'}x`,
    });
  },
};

export default largeFanOut;
