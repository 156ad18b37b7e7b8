import { join } from 'node:path';
import type { BenchCase, BenchContext } from '../lib/bench-case.ts';
import type { Role } from '../lib/children.ts';
import { median, seconds, speedRatio, throughput } from '../lib/figures.ts';
import { cpuSince, cpuTimesOf } from '../lib/proc-cpu.ts';
import { MiB } from '../lib/proc-memory.ts';
import { writeRandomFile } from '../lib/test-file.ts';
import { upload, uploadClient, type Upload } from '../lib/upload-client.ts';

const GiB = 1024 * MiB;

interface Side {
  name: string;
  role: Role;
  request: Upload;
  times: number[];
  /** Server CPU (user + system, all threads) per upload, ms. */
  cpu: number[];
}

async function measure(ctx: BenchContext, side: Side, size: number, warmUp: boolean): Promise<void> {
  const before = cpuTimesOf(side.role.pid);
  const r = await upload(ctx.children, side.request);
  const { all: cpu } = cpuSince(side.role.pid, before);
  if (r.status !== 200) throw new Error(`${side.name}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  if (!warmUp) {
    side.times.push(r.ms);
    side.cpu.push(cpu);
  }
  ctx.log(
    `${warmUp ? '(warm-up) ' : ''}${side.name}: ${seconds(r.ms)} (${throughput(size, r.ms)}), server CPU ${seconds(cpu)}`,
  );
}

/** CPU per GiB of upload, from the median CPU per upload. */
const perGiB = (ms: number | undefined, size: number): number | undefined =>
  ms === undefined ? undefined : (ms * GiB) / size;

const parsers: BenchCase = {
  name: 'parsers',
  summary:
    'multipart ingest of a 256 MiB upload through our own parser and through busboy, each staging with md5+sha256, against the hashing pipe alone',
  timeoutMs: 240_000,
  async run(ctx) {
    const size = (ctx.quick ? 16 : 256) * MiB;
    const reps = ctx.quick ? 1 : 7;
    // On the memory filesystem where there is one, so that the disk's moods do not drown the parsers'.
    const dir = ctx.memTmp ?? ctx.tmp;
    const file = join(ctx.tmp, 'upload.bin');
    ctx.log(`writing a ${size / MiB} MiB test file; client: ${uploadClient}; staging in ${dir}`);
    await writeRandomFile(file, size);
    const fields: [string, string][] = [
      ['client_id', 'bench-client'],
      ['dest', '/tmp/bench.bin'],
      ['force', 'true'],
    ];
    const start = async (name: string, module: string, args: string[], multipart: boolean): Promise<Side> => {
      const role = ctx.children.fork(name, new URL(module, import.meta.url), args);
      const { port } = await role.ready;
      const url = `http://127.0.0.1:${String(port)}/upload`;
      return { name, role, request: { url, file, ...(multipart ? { fields } : {}) }, times: [], cpu: [] };
    };
    const sides = [
      await start('hashing pipe (reference)', '../roles/raw-ingest-server.ts', [dir, 'hash'], false),
      await start('own parser', '../roles/parser-ingest-server.ts', [dir, 'own'], true),
      await start('busboy', '../roles/parser-ingest-server.ts', [dir, 'busboy'], true),
    ];
    if (!ctx.quick) for (const side of sides) await measure(ctx, side, size, true);
    for (let i = 0; i < reps; i++) {
      // Each round starts with another side, so that no side always follows the same one.
      const order = sides.map((_, k) => sides[(i + k) % sides.length]);
      ctx.log(`round ${i + 1} of ${reps}: ${order.map((s) => s.name).join(', ')}`);
      for (const side of order) await measure(ctx, side, size, false);
    }
    const mib = `${size / MiB} MiB`;
    const [ref, own, bb] = sides.map((s) => median(s.times));
    const [refCpu, ownCpu, bbCpu] = sides.map((s) => median(s.cpu));
    const common = `median of ${reps} rounds in alternating order after a warm-up round; ${uploadClient} sends the file; staged on ${ctx.memTmp ? 'tmpfs' : 'the temp disk'}`;
    for (const [name, ms] of [
      ['own parser', own],
      ['busboy', bb],
    ] as const) {
      ctx.add({
        figure: `parsers ${mib}: time, ${name} vs hashing pipe`,
        ours: seconds(ms),
        reference: seconds(ref),
        ratio: speedRatio(ms, ref),
        target: 'report',
        note: `${common}; ${name}: node:http, the UploadForm adapter, FsStagingStore.stage (md5+sha256, fsync) at ${throughput(size, ms) ?? 'n/a'}; reference: the raw body piped through md5+sha256 to a file at ${throughput(size, ref) ?? 'n/a'}`,
      });
    }
    ctx.add({
      figure: `parsers ${mib}: time, busboy vs own parser`,
      ours: seconds(bb),
      reference: seconds(own),
      ratio: speedRatio(bb, own),
      target: '>= 1.00x to replace',
      met: bb === undefined || own === undefined ? undefined : own / bb >= 1,
      note: 'ratio = own time / busboy time: above 1, busboy is faster',
    });
    for (const [name, ms] of [
      ['own parser', ownCpu],
      ['busboy', bbCpu],
    ] as const) {
      ctx.add({
        figure: `parsers: server CPU per GiB, ${name} vs hashing pipe`,
        ours: seconds(perGiB(ms, size)),
        reference: seconds(perGiB(refCpu, size)),
        ratio: ms === undefined || refCpu === undefined ? undefined : ms / refCpu,
        target: 'report',
        note: 'median CPU per upload scaled to 1 GiB; user + system time of the server process, all threads, from /proc; ratio = ours / reference (lower is better)',
      });
    }
  },
};

export default parsers;
