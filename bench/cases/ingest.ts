import { join } from 'node:path';
import type { BenchCase, BenchContext } from '../lib/bench-case.ts';
import type { Role } from '../lib/children.ts';
import { median, megabytes, seconds, speedRatio, throughput } from '../lib/figures.ts';
import { cpuSince, cpuTimesOf } from '../lib/proc-cpu.ts';
import { MiB, PeakWatch, rssOf } from '../lib/proc-memory.ts';
import { writeRandomFile } from '../lib/test-file.ts';
import { upload, uploadClient, type Upload } from '../lib/upload-client.ts';
import { productMissing, startFleet, startRportd, uuidOf } from '../lib/product.ts';

interface Side {
  name: string;
  role: Role | { pid: number };
  request: Upload;
  /** Waits until the server is idle again after an upload (ours: the push that follows it). */
  settle?: (answer: string) => Promise<void>;
  times: number[];
  /** Server CPU (user + system, all threads) per upload, ms. */
  cpu: number[];
  peak: number;
  /** RSS before the first upload. */
  idle?: number;
}

/** One upload; a warm-up one is logged but not counted. */
async function measure(ctx: BenchContext, side: Side, size: number, warmUp = false): Promise<void> {
  side.idle ??= rssOf(side.role.pid);
  const watch = new PeakWatch([side.role.pid]);
  const cpuBefore = cpuTimesOf(side.role.pid);
  const r = await upload(ctx.children, side.request);
  const { all: cpu, system: sys } = cpuSince(side.role.pid, cpuBefore);
  const peak = watch.stop().get(side.role.pid) ?? 0;
  if (r.status < 200 || r.status > 299)
    throw new Error(`${side.name}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  if (!warmUp) {
    side.times.push(r.ms);
    side.cpu.push(cpu);
    side.peak = Math.max(side.peak, peak);
  }
  ctx.log(
    `${warmUp ? '(warm-up) ' : ''}${side.name}: ${seconds(r.ms)} (${throughput(size, r.ms)}), server CPU ${seconds(cpu)} (system ${seconds(sys)}), server peak RSS ${megabytes(peak)}`,
  );
  await side.settle?.(r.body);
}

const ingest: BenchCase = {
  name: 'ingest',
  summary:
    'a 256 MiB upload through POST /api/v1/files against a raw node:http pipe to disk, with and without md5+sha256',
  timeoutMs: 150_000,
  async run(ctx) {
    const size = (ctx.quick ? 16 : 256) * MiB;
    const reps = ctx.quick ? 1 : 5;
    const file = join(ctx.tmp, 'upload.bin');
    ctx.log(`writing a ${size / MiB} MiB test file; client: ${uploadClient}`);
    await writeRandomFile(file, size);
    const sides: Side[] = [];
    for (const mode of ['plain', 'hash'] as const) {
      const role = ctx.children.fork(
        `raw ingest (${mode})`,
        new URL('../roles/raw-ingest-server.ts', import.meta.url),
        [ctx.tmp, mode],
      );
      const { port } = await role.ready;
      sides.push({
        name: `raw pipe ${mode === 'hash' ? 'with md5+sha256' : 'without hashes'}`,
        role,
        request: { url: `http://127.0.0.1:${String(port)}/upload`, file },
        times: [],
        cpu: [],
        peak: 0,
      });
    }
    const missing = productMissing('server');
    if (!missing) {
      const server = await startRportd(ctx, { maxFilepushSize: size * 2 });
      // The target client is registered, then offline: the push that would follow each upload writes
      // another 256 MiB on this same machine and frees the staged file between one measurement and the
      // next, and that churn landed on whichever side came next (docs/benchmarks.md, "Ingest"). Ours is
      // measured as before, to the staged file with both hashes, fsync, the results row and the audit;
      // the dispatch then answers at once with an error outcome. The push has its own benchmark.
      const fleet = await startFleet(ctx, server, { count: 1, name: 'ingest-agent' });
      await fleet.stop();
      const dest = join(ctx.tmp, 'dest', 'ingest.bin');
      sides.push({
        name: 'rportd POST /api/v1/files',
        role: server,
        request: {
          url: server.uploadUrl,
          file,
          headers: server.authHeaders,
          fields: [
            ['client_id', fleet.ids[0]],
            ['dest', dest],
            ['force', 'true'],
          ],
        },
        settle: async (answer) => void (await server.outcomes(uuidOf(answer), 1, 120_000)),
        times: [],
        cpu: [],
        peak: 0,
      });
    } else ctx.log(`ours skipped: ${missing}`);
    // A first, uncounted round: each server's first upload pays its first-use costs (compiling, first allocations).
    if (!ctx.quick) for (const side of sides) await measure(ctx, side, size, true);
    for (let i = 1; i <= reps; i++) {
      ctx.log(`round ${i} of ${reps}`);
      for (const side of sides) await measure(ctx, side, size);
    }
    const [plain, hash, ours] = sides.map((s) => median(s.times));
    const mib = `${size / MiB} MiB`;
    ctx.add({
      figure: `ingest ${mib}: time, ours vs raw pipe with md5+sha256`,
      ours: seconds(ours),
      reference: seconds(hash),
      ratio: speedRatio(ours, hash),
      target: '>= 0.90x',
      met: ours === undefined || hash === undefined ? undefined : hash / ours >= 0.9,
      note: `median of ${reps} after a warm-up round; ${uploadClient} sends the file; ours (to a registered client that is offline, so no push runs between measurements): multipart through koa to the staged file with md5+sha256 (${throughput(size, ours) ?? 'n/a'}), reference ${throughput(size, hash)}${missing ? `; ours not measured: ${missing}` : ''}`,
    });
    const [, hashCpu, oursCpu] = sides.map((s) => median(s.cpu));
    ctx.add({
      figure: `ingest ${mib}: server CPU per upload, ours vs raw pipe with md5+sha256`,
      ours: seconds(oursCpu),
      reference: seconds(hashCpu),
      ratio: oursCpu === undefined || hashCpu === undefined ? undefined : oursCpu / hashCpu,
      target: 'report',
      note: 'median; user + system time of the server process, all threads, from /proc; ratio = ours / reference (lower is better)',
    });
    ctx.add({
      figure: `ingest ${mib}: time, ours vs raw pipe without hashes`,
      ours: seconds(ours),
      reference: seconds(plain),
      ratio: speedRatio(ours, plain),
      target: 'report',
      note: `reference ${throughput(size, plain)}`,
    });
    ctx.add({
      figure: `ingest ${mib}: server peak RSS, ours vs raw pipe with hashes`,
      ours: sides[2] ? `${megabytes(sides[2].peak)} (idle ${megabytes(sides[2].idle)})` : undefined,
      reference: `${megabytes(sides[1].peak)} (idle ${megabytes(sides[1].idle)})`,
      ratio: sides[2] ? sides[2].peak / sides[1].peak : undefined,
      target: 'report',
      note: 'ratio = our peak MB / reference peak MB (lower is better); both run under tsx, so both carry its loader',
    });
  },
};

export default ingest;
