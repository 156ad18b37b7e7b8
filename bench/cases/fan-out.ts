import { join } from 'node:path';
import type { BenchCase, BenchContext } from '../lib/bench-case.ts';
import { median, megabytes, seconds, speedRatio, type Figure } from '../lib/figures.ts';
import {
  createGroup,
  forkFleet,
  productMissing,
  startRportd,
  uuidOf,
  type FleetPlace,
} from '../lib/product.ts';
import { MB, MiB, PeakWatch, rssOf } from '../lib/proc-memory.ts';
import { writeRandomFile } from '../lib/test-file.ts';
import { cpuSince, cpuTimesOf, machineBusyMs, mainThreadTimesOf, type CpuTimes } from '../lib/proc-cpu.ts';
import { upload } from '../lib/upload-client.ts';
import { SERVER_DEFAULTS } from '../../src/adapters/config/server-config.ts';
import { DEFAULT_LISTENER_SETTINGS } from '../../src/adapters/ssh/server/agent-listener.ts';
import { MAX_READ } from '../../src/adapters/ssh/protocol.ts';
import { READS_IN_FLIGHT } from '../../src/adapters/ssh/agent/sftp-file-source.ts';

interface Step {
  n: number;
  ms?: number;
  idle?: number;
  peak?: number;
  failed?: number;
  /** The machine's busy CPU during the push (median, like ms). */
  machine?: number;
  /** CPU of the clients' process's main thread during the push (median). */
  clientsMain?: number;
}

/** Glob patterns matching agent-0000 .. agent-<n-1> (n a multiple of 10): one per ten or per hundred. */
function firstPatterns(n: number): string[] {
  const per = n % 100 === 0 ? 100 : 10;
  return Array.from({ length: n / per }, (_, i) => `agent-${String(i).padStart(per === 100 ? 2 : 3, '0')}*`);
}

const SETTLE_MS = 1500;

/**
 * Runs of each push: the largest N (the target's) is run five times and its median kept, as both sides
 * swing widely between runs (docs/benchmarks.md, "How far the figures move").
 */
const repsFor = (ctx: BenchContext, n: number, sizes: number[]): number =>
  !ctx.quick && n === sizes[sizes.length - 1] ? 5 : 1;
/** Runs of the push to the largest N with the agents' files in memory (a diagnosis, not a target). */
const memoryReps = (ctx: BenchContext): number => (ctx.quick ? 1 : 3);

/** The machine's busy CPU since `before`, and for the log how many cores that kept busy over `ms`. */
function machineUsed(before: number | undefined, ms: number): { machine?: number; text: string } {
  const now = machineBusyMs();
  const machine = before === undefined || now === undefined ? undefined : now - before;
  return { machine, text: `machine ${coresBusy(machine, ms) ?? 'n/a'}` };
}

/** CPU seconds each process used since `before`, for the log: where the time of a push went. */
function cpuUsed(before: (CpuTimes | undefined)[], pids: number[], names: string[]): string {
  return pids
    .map((pid, i) => {
      const used = cpuSince(pid, before[i]);
      return `${names[i]} ${seconds(used.all)} (system ${seconds(used.system)})`;
    })
    .join(', ');
}
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));

interface Pushed {
  ms: number;
  peak: number;
  failed: number;
  machine?: number;
  /** CPU milliseconds of the main thread of the process holding the clients (the agents or the bare clients). */
  clientsMain?: number;
}

/** The median of a CPU figure over the pushes that have it. */
function medianOf(pushes: Pushed[], key: 'machine' | 'clientsMain'): number | undefined {
  return median(pushes.flatMap((p) => (p[key] === undefined ? [] : [p[key]])));
}

/** CPU milliseconds a process's main thread used since `before`, or undefined. */
function mainThreadSince(pid: number, before: CpuTimes | undefined): number | undefined {
  const now = mainThreadTimesOf(pid);
  return now && before ? now.all - before.all : undefined;
}

interface Side {
  /** Names the side in the log. */
  label: string;
  /** Connects up to n (each N in turn, before any push) and returns the server's idle RSS. */
  connect(n: number): Promise<{ idle: number; failed: number }>;
  /** One push to the first n; its time, the server's peak RSS and how many did not succeed. */
  push(n: number): Promise<Pushed>;
  close(): Promise<void>;
}

/** Bare ssh2: one server process, one process of N clients doing the same SFTP reads at once. */
async function bareSide(ctx: BenchContext, file: string): Promise<Side> {
  const server = ctx.children.fork(
    'bare ssh2 server',
    new URL('../roles/bare-ssh-server.ts', import.meta.url),
  );
  const clients = ctx.children.fork(
    'bare ssh2 clients',
    new URL('../roles/bare-ssh-clients.ts', import.meta.url),
  );
  const { port } = await server.ready;
  await clients.ready;
  let connected = 0;
  return {
    label: 'bare ssh2',
    async connect(n) {
      const c = await clients.call<{ ms: number; failed: number }>('connect', {
        port,
        count: n - connected,
        inflight: DEFAULT_LISTENER_SETTINGS.maxHandshakes,
      });
      connected = n;
      await settle();
      ctx.log(`bare ssh2, ${n} clients connected: server idle ${megabytes(rssOf(server.pid))}`);
      return { idle: rssOf(server.pid), failed: c.failed };
    },
    async push(n) {
      const watch = new PeakWatch([server.pid]);
      const cpu0 = [cpuTimesOf(server.pid), cpuTimesOf(clients.pid)];
      const main0 = mainThreadTimesOf(clients.pid);
      const machine0 = machineBusyMs();
      const f = await clients.call<{ ms: number; failed: number; md5s: string[] }>('fetch', {
        path: file,
        readSize: MAX_READ,
        readsInFlight: READS_IN_FLIGHT,
        count: n,
      });
      const used = machineUsed(machine0, f.ms);
      const clientsMain = mainThreadSince(clients.pid, main0);
      const peak = watch.stop().get(server.pid) ?? 0;
      ctx.log(
        `bare ssh2, ${n} clients: last read after ${seconds(f.ms)}, server peak ${megabytes(peak)}, ${f.failed} failed; CPU: ${cpuUsed(cpu0, [server.pid, clients.pid], ['server', 'clients'])} (main thread ${seconds(clientsMain)}), ${used.text}`,
      );
      return { ms: f.ms, peak, failed: f.failed, machine: used.machine, clientsMain };
    },
    async close() {
      await clients.call('close').catch(() => undefined);
      await ctx.children.kill(clients);
      await ctx.children.kill(server);
    },
  };
}

interface OurPlace {
  label: string;
  /** Process names: rportd's (also its data_dir) and the agents'. */
  server: string;
  fleet: string;
  /** Where the agents keep their data_dirs (default: the benchmark's temp dir, on the disk). */
  place?: FleetPlace;
  /** Where the pushed file goes. */
  destDir: string;
}

/** Ours: rportd and one process of real agents; each push is one upload to a client group of the first N. */
async function ourSide(ctx: BenchContext, file: string, where: OurPlace): Promise<Side> {
  const server = await startRportd(ctx, { name: where.server });
  const fleet = forkFleet(ctx, server, where.fleet, where.place);
  let connected = 0;
  const groups = new Set<number>();
  return {
    label: where.label,
    async connect(n) {
      const s = await fleet.start(n - connected, 'agent', 120_000);
      connected = n;
      if (s.failed) throw new Error(`${s.failed} agents did not register: ${s.lastError ?? ''}`);
      await settle();
      ctx.log(
        `${where.label}, ${n} agents registered in ${seconds(s.ms)} (${s.retries} retried attempts): server idle ${megabytes(rssOf(server.pid))}`,
      );
      return { idle: rssOf(server.pid), failed: 0 };
    },
    async push(n) {
      if (!groups.has(n)) await createGroup(server, `first-${n}`, firstPatterns(n));
      groups.add(n);
      const watch = new PeakWatch([server.pid]);
      const cpu0 = [cpuTimesOf(server.pid), cpuTimesOf(fleet.pid)];
      const main0 = mainThreadTimesOf(fleet.pid);
      const machine0 = machineBusyMs();
      const t0 = performance.now();
      const r = await upload(ctx.children, {
        url: server.uploadUrl,
        file,
        headers: server.authHeaders,
        fields: [
          ['group_id', `first-${n}`],
          ['dest', join(where.destDir, `fan-out-${n}.bin`)],
          ['force', 'true'],
        ],
      });
      if (r.status !== 200 && r.status !== 201)
        throw new Error(`upload to ${n}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      const { firstAt, lastAt, outcomes } = await server.outcomes(uuidOf(r.body), n, 300_000);
      const used = machineUsed(machine0, lastAt - t0);
      const clientsMain = mainThreadSince(fleet.pid, main0);
      const peak = watch.stop().get(server.pid) ?? 0;
      const failed = outcomes.filter((o) => o.status !== 'success');
      ctx.log(
        `${where.label}, ${n} agents: upload answered after ${seconds(r.ms)}, first outcome after ${seconds(firstAt - t0)}, last after ${seconds(lastAt - t0)}, server peak ${megabytes(peak)}, ${failed.length} not success${failed[0] ? ` (${failed[0].message})` : ''}; CPU: ${cpuUsed(cpu0, [server.pid, fleet.pid], ['rportd', 'agents'])} (main thread ${seconds(clientsMain)}), ${used.text}`,
      );
      return { ms: lastAt - t0, peak, failed: failed.length, machine: used.machine, clientsMain };
    },
    async close() {
      await fleet.stop();
      await server.stop();
    },
  };
}

/**
 * Both sides stay up together; for each N, each run is a bare push then ours, back to back, so both
 * see the machine as it is at that moment (measured a minute apart, the reference alone swung widely
 * between runs: docs/benchmarks.md, "How far the figures move"). Idle RSS is read per server process
 * while the other side's connections are idle too.
 */
async function measure(
  ctx: BenchContext,
  file: string,
  sizes: number[],
  where: OurPlace,
  reps: (n: number) => number,
): Promise<{ ref: Step[]; our: Step[] }> {
  const missing = productMissing();
  if (missing) ctx.log(`ours skipped: ${missing}`);
  const sides = [await bareSide(ctx, file), ...(missing ? [] : [await ourSide(ctx, file, where)])];
  const steps: Step[][] = sides.map(() => []);
  try {
    for (const n of sizes) {
      for (const [i, side] of sides.entries()) {
        const c = await side.connect(n);
        steps[i].push({ n, idle: c.idle, failed: c.failed });
      }
    }
    for (const [k, n] of sizes.entries()) {
      const runs: Pushed[][] = sides.map(() => []);
      for (let rep = 0; rep < reps(n); rep++) {
        for (const [i, side] of sides.entries()) {
          const p = await side.push(n);
          const step = steps[i][k];
          step.peak = Math.max(step.peak ?? 0, p.peak);
          step.failed = (step.failed ?? 0) + p.failed;
          runs[i].push(p);
          await settle();
        }
      }
      for (const [i] of sides.entries()) {
        steps[i][k].ms = median(runs[i].map((p) => p.ms));
        steps[i][k].machine = medianOf(runs[i], 'machine');
        steps[i][k].clientsMain = medianOf(runs[i], 'clientsMain');
      }
      if (runs.length === 2)
        ctx.log(
          `${n}: run by run, ${sides[1].label} against bare: ${runs[1].map((p, r) => `${seconds(p.ms)}/${seconds(runs[0][r].ms)}`).join(', ')}`,
        );
    }
  } finally {
    for (const side of sides.reverse()) await side.close();
  }
  return { ref: steps[0], our: steps[1] ?? [] };
}

/** The agents' file work of a push to n, alone (bench/roles/agent-file-work.ts): median of three runs, with its CPU. */
async function fileWork(
  ctx: BenchContext,
  n: number,
  size: number,
): Promise<{ ms?: number; cpu?: number; failed: number }> {
  const role = ctx.children.fork(
    "agents' file work",
    new URL('../roles/agent-file-work.ts', import.meta.url),
  );
  try {
    await role.ready;
    await role.call('setup', { n, root: join(ctx.tmp, 'file-work') });
    const times: number[] = [];
    const cpus: number[] = [];
    let failed = 0;
    for (let rep = 0; rep < (ctx.quick ? 1 : 3); rep++) {
      const cpu0 = cpuTimesOf(role.pid);
      const r = await role.call<{ ms: number; failed: number; lastError?: string }>('run', {
        size,
        concurrency: SERVER_DEFAULTS.push_concurrency,
        dest: join(ctx.tmp, 'dest', `file-work-${n}.bin`),
      });
      const used = cpuSince(role.pid, cpu0);
      times.push(r.ms);
      cpus.push(used.all);
      failed += r.failed;
      ctx.log(
        `agents' file work alone, ${n} files: ${seconds(r.ms)}, CPU ${seconds(used.all)} (system ${seconds(used.system)})${r.failed ? `, ${r.failed} failed: ${r.lastError ?? ''}` : ''}`,
      );
      await settle();
    }
    return { ms: median(times), cpu: median(cpus), failed };
  } finally {
    await ctx.children.kill(role);
  }
}

const fanOut: BenchCase = {
  name: 'fan-out',
  summary: 'a 1 MiB file to 100, 500 and 1000 agents on loopback against bare ssh2 doing the same SFTP reads',
  timeoutMs: 330_000,
  async run(ctx) {
    const size = 1 * MiB;
    const sizes = ctx.quick ? [10, 50] : [100, 500, 1000];
    const file = join(ctx.tmp, 'fan-out.bin');
    await writeRandomFile(file, size);
    const big = sizes[sizes.length - 1];
    const onDisk: OurPlace = {
      label: 'ours',
      server: 'rportd',
      fleet: 'fan-out-agents',
      destDir: join(ctx.tmp, 'dest'),
    };
    const { ref, our } = await measure(ctx, file, sizes, onDisk, (n) => repsFor(ctx, n, sizes));
    const work = our.length > 0 ? await fileWork(ctx, big, size) : undefined;
    for (const r of ref) {
      const o = our.find((s) => s.n === r.n);
      const last = r.n === big;
      const rows: Figure[] = [
        {
          figure: `fan-out 1 MiB to ${r.n}: time to the last outcome`,
          ours: seconds(o?.ms),
          reference: seconds(r.ms),
          ratio: speedRatio(o?.ms, r.ms),
          target: last ? '>= 0.83x (within 1.2x)' : 'report',
          met: last && o?.ms && r.ms ? o.ms <= 1.2 * r.ms : undefined,
          note:
            r.n === sizes[0]
              ? 'ours: upload (to a client group of the N) start to the last outcome on the results WebSocket (agents md5, write, fsync, rename); reference: bare ssh2 clients reading the file into md5 with the same READ size and reads in flight, all at once. The largest N runs five times on each side, each of our runs right after a bare one with both sides connected: its time is the median, its peak RSS the highest of the five'
              : undefined,
        },
        {
          figure: `fan-out to ${r.n}: server peak RSS during the push`,
          ours: megabytes(o?.peak),
          reference: megabytes(r.peak),
          ratio: o?.peak && r.peak ? o.peak / r.peak : undefined,
          target: last ? '<= 256 MB' : 'report',
          met: last && o?.peak ? o.peak <= 256 * MB : undefined,
          note: r.n === sizes[0] ? 'ratio = our MB / bare ssh2 MB (lower is better)' : undefined,
        },
        {
          figure: `fan-out: server RSS idle with ${r.n} connected`,
          ours: megabytes(o?.idle),
          reference: megabytes(r.idle),
          ratio: o?.idle && r.idle ? o.idle / r.idle : undefined,
          target: last ? '<= 150 MB' : 'report',
          met: last && o?.idle ? o.idle <= 150 * MB : undefined,
        },
      ];
      if ((o?.failed ?? 0) + (r.failed ?? 0) > 0)
        rows.push({
          figure: `fan-out to ${r.n}: failed transfers`,
          ours: String(o?.failed ?? 'n/a'),
          reference: String(r.failed),
          target: '0',
          met: o?.failed === 0,
        });
      if (last) {
        rows.push({
          figure: `fan-out to ${r.n}: the machine's CPU during the push (every process and the kernel)`,
          ours: coresBusy(o?.machine, o?.ms),
          reference: coresBusy(r.machine, r.ms),
          ratio: o?.machine && r.machine ? o.machine / r.machine : undefined,
          target: 'report',
          note: "busy time of every core from /proc/stat during each push (median), with the cores it kept busy on average; it counts the kernel's own threads too (write-back of the agents' files to the disk), which no process's CPU shows. ratio = ours / reference (lower is better)",
        });
      }
      if (last) {
        rows.push({
          figure: `fan-out to ${r.n}: CPU of the main thread of the process holding the agents / the bare clients`,
          ours: seconds(o?.clientsMain),
          reference: seconds(r.clientsMain),
          ratio: o?.clientsMain && r.clientsMain ? o.clientsMain / r.clientsMain : undefined,
          target: 'report',
          note: "median over the pushes, from /proc/<pid>/task/<pid>/stat. That thread runs all the JavaScript of 1000 agents (ssh2, md5, the file work's calls), so it is the busiest thread in the run and the push can go no faster than it. ratio = ours / reference (lower is better)",
        });
      }
      if (last && work) {
        rows.push({
          figure: `fan-out to ${r.n}: the agents' file work alone, without the network`,
          ours: seconds(work.ms),
          target: 'report',
          note: `the same ${r.n} agents' ReceiveFile with the real FsLocalFiles, given the file from memory, ${SERVER_DEFAULTS.push_concurrency} at once (md5, write, fsync, chmod, checks, rename, directory fsync), median of three; CPU ${seconds(work.cpu)}. The bare reference does none of this; it is measured here because it shares the same two cores with the transfer in our fan-out`,
        });
        if (work.failed > 0)
          rows.push({
            figure: `fan-out to ${r.n}: file work alone, failed`,
            ours: String(work.failed),
            target: '0',
            met: false,
          });
      }
      for (const f of rows) ctx.add(f);
    }
    if (!ctx.memTmp)
      ctx.log(
        "no tmpfs (the bench mounts one only as root): the fan-out with the agents' files in memory is left out",
      );
    const memory =
      ctx.memTmp && our.length > 0
        ? await measure(ctx, file, [big], inMemory(ctx.memTmp), () => memoryReps(ctx))
        : undefined;
    const [mr, mo] = [memory?.ref[0], memory?.our[0]];
    if (mr && mo) {
      ctx.add({
        figure: `fan-out 1 MiB to ${big}, the agents' files in memory (tmpfs): time to the last outcome`,
        ours: seconds(mo.ms),
        reference: seconds(mr.ms),
        ratio: speedRatio(mo.ms, mr.ms),
        target: 'report',
        note: `a diagnosis, not the target: the same code and the same pushes, with the agents' data_dirs (their temp files) and the destination on a tmpfs the bench mounts, instead of the disk, ${memoryReps(ctx)} runs a side in pairs on fresh servers, medians; machine CPU ${coresBusy(mo.machine, mo.ms) ?? 'n/a'} against ${coresBusy(mr.machine, mr.ms) ?? 'n/a'}`,
      });
      if ((mo.failed ?? 0) > 0)
        ctx.add({
          figure: `fan-out to ${big}, files in memory: failed transfers`,
          ours: String(mo.failed),
          target: '0',
          met: false,
        });
    }
  },
};

/** Ours with every file the agents write on a tmpfs: what the disk costs, shown by taking it out. */
function inMemory(memTmp: string): OurPlace {
  return {
    label: 'ours, files in memory',
    server: 'rportd-files-in-memory',
    fleet: 'fan-out-agents-in-memory',
    place: { dataRoot: join(memTmp, 'agents') },
    destDir: join(memTmp, 'dest'),
  };
}

/** "8.10 s (1.52 cores)": busy CPU over a wall time. */
function coresBusy(machine: number | undefined, ms: number | undefined): string | undefined {
  return machine === undefined || !ms
    ? undefined
    : `${seconds(machine)} (${(machine / ms).toFixed(2)} cores)`;
}

export default fanOut;
