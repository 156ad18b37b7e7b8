import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findHaproxy, HaproxyProcess, type HaproxyFrontend } from '../../src/composition/demo/haproxy.ts';

export type { HaproxyFrontend } from '../../src/composition/demo/haproxy.ts';

/**
 * The haproxy binary for `tests`. Under CI=true its absence fails the suite (.ci/run installs it);
 * elsewhere the suite is skipped, loudly.
 */
export async function haproxyOrSkip(ctx: Mocha.Context, tests: string): Promise<string> {
  const bin = await findHaproxy();
  if (bin) return bin;
  if (process.env.CI === 'true')
    throw new Error(`haproxy is required for ${tests} (apt-get install -y haproxy)`);
  console.warn(
    `\n      !!! SKIPPING ${tests}: haproxy is not installed (apt-get install -y haproxy); under CI=true this fails\n`,
  );
  ctx.skip();
}

/** A private haproxy: its config in a temp dir, frontends on 127.0.0.1, stopped by pid, dir removed. */
export class TestHaproxy {
  private constructor(
    readonly proxy: HaproxyProcess,
    private readonly dir: string,
  ) {}

  static async start(bin: string, frontends: HaproxyFrontend[]): Promise<TestHaproxy> {
    const dir = await mkdtemp(join(tmpdir(), 'rport-haproxy-'));
    try {
      return new TestHaproxy(await HaproxyProcess.start(bin, dir, frontends), dir);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  async dispose(): Promise<void> {
    await this.proxy.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
