import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchCase } from '../lib/bench-case.ts';
import { megabytes, seconds } from '../lib/figures.ts';
import { AGENT_CREDENTIAL, productMissing, RPORT_BIN, startRportd, uuidOf } from '../lib/product.ts';
import { MiB, PeakWatch, rssOf } from '../lib/proc-memory.ts';
import { writeRandomFile } from '../lib/test-file.ts';
import { upload } from '../lib/upload-client.ts';

const SETTLE_MS = 1500;

const memory: BenchCase = {
  name: 'memory',
  summary: 'RSS growth of rportd and of a real rport agent process for a 16 MiB and a 256 MiB push',
  timeoutMs: 120_000,
  async run(ctx) {
    const missing = productMissing();
    if (missing) {
      ctx.log(`skipped: ${missing}`);
      ctx.add({ figure: 'memory: RSS growth of a push', note: `not measured: ${missing}` });
      return;
    }
    const sizes = ctx.quick ? [4 * MiB, 16 * MiB] : [16 * MiB, 256 * MiB];
    const server = await startRportd(ctx, { maxFilepushSize: 512 * MiB });
    const agentDir = join(ctx.tmp, 'agent');
    await mkdir(agentDir, { recursive: true });
    const config = join(agentDir, 'rport.conf');
    await writeFile(
      config,
      [
        '[client]',
        `server = "127.0.0.1:${server.sshPort}"`,
        `fingerprint = "${server.fingerprint}"`,
        `auth = "${AGENT_CREDENTIAL.id}:${AGENT_CREDENTIAL.password}"`,
        'id = "memory-agent"',
        `data_dir = ${JSON.stringify(join(agentDir, 'data'))}`,
        '',
        '[file-reception]',
        'enabled = true',
        '',
      ].join('\n'),
    );
    // The real agent program, as a user runs it (pino logs to its stdout, kept in a pipe we drain).
    const agent = ctx.children.spawn(process.execPath, [RPORT_BIN, '--config', config]);
    agent.stdout?.resume();
    agent.stderr?.resume();
    // Registered once it can be pushed to: retry a tiny upload until it is accepted.
    const probe = join(ctx.tmp, 'probe.bin');
    await writeRandomFile(probe, 1024);
    const dest = join(ctx.tmp, 'dest', 'memory.bin');
    const push = async (file: string): Promise<void> => {
      const r = await upload(ctx.children, {
        url: server.uploadUrl,
        file,
        headers: server.authHeaders,
        fields: [
          ['client_id', 'memory-agent'],
          ['dest', dest],
          ['force', 'true'],
        ],
      });
      if (r.status !== 200 && r.status !== 201) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      const answered = performance.now();
      const { outcomes, lastAt } = await server.outcomes(uuidOf(r.body), 1, 120_000);
      if (outcomes[0].status !== 'success') throw new Error(`push failed: ${outcomes[0].message}`);
      // The shipped agent (bin/rport.js) timed, for scale: the one-push benchmark times an agent built from the sources.
      if (file !== probe)
        ctx.log(`push of ${file.split('/').pop()}: upload answered to outcome ${seconds(lastAt - answered)}`);
    };
    for (let tries = 0; ; tries++) {
      try {
        await push(probe);
        break;
      } catch (e) {
        if (tries > 60)
          throw new Error(`the rport agent never became reachable: ${(e as Error).message}`, { cause: e });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const growth: Record<number, { server: number; agent: number }> = {};
    for (const size of sizes) {
      const file = join(ctx.tmp, `memory-${size}.bin`);
      await writeRandomFile(file, size);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const before = { server: rssOf(server.pid), agent: rssOf(agent.pid!) };
      const watch = new PeakWatch([server.pid, agent.pid!]);
      await push(file);
      const peaks = watch.stop();
      growth[size] = {
        server: (peaks.get(server.pid) ?? 0) - before.server,
        agent: (peaks.get(agent.pid!) ?? 0) - before.agent,
      };
      ctx.log(
        `${size / MiB} MiB: server ${megabytes(before.server)} -> peak +${megabytes(growth[size].server)}, agent ${megabytes(before.agent)} -> peak +${megabytes(growth[size].agent)}`,
      );
      await rm(file, { force: true });
    }
    await server.stop();
    await ctx.children.kill(agent);
    const [small, large] = sizes;
    for (const side of ['server', 'agent'] as const) {
      const name = side === 'server' ? 'rportd' : 'rport agent';
      ctx.add({
        figure: `${name}: RSS growth, ${large / MiB} MiB push (vs ${small / MiB} MiB)`,
        ours: `+${megabytes(growth[large][side])}`,
        reference: `+${megabytes(growth[small][side])}`,
        target: '<= +67 MB (64 MiB)',
        met: growth[large][side] <= 64 * MiB,
        note:
          side === 'server'
            ? 'peak RSS during upload + push minus RSS just before; the reference column is the same for the small push'
            : undefined,
      });
    }
  },
};

export default memory;
