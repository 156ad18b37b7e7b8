import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToExit, type Exited } from '../../support/exit-run.ts';

// The helper as shipped, and the config it ships with.
const HELPER = fileURLToPath(new URL('../../../scripts/rport-filepush-helper.mjs', import.meta.url));
const EXAMPLE = fileURLToPath(
  new URL('../../../scripts/rport-filepush-helper.conf.example', import.meta.url),
);
const INSTALLED_CONFIG = '/etc/rport/filepush-helper.conf';

/**
 * The helper reads only /etc/rport/filepush-helper.conf, root-owned. The test runs a copy whose one
 * difference is that path, pointed at a root-owned file of its own, so the host's config stays as it is.
 */
describe('rport-filepush-helper: a config fault names the file and the key, exit 2', function () {
  this.timeout(30_000);
  let dir: string;
  let helper: string;
  let config: string;

  before(async function () {
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('the helper config tests must run as root under CI');
      console.warn('      SKIPPED the helper config tests: the helper trusts only a root-owned config');
      return this.skip();
    }
    dir = await mkdtemp(join(tmpdir(), 'rport-helper-config-'));
    config = join(dir, 'filepush-helper.conf');
    const source = await readFile(HELPER, 'utf8');
    const copy = source.replace(`const CONFIG = '${INSTALLED_CONFIG}';`, `const CONFIG = '${config}';`);
    expect(copy, 'the helper names its config in one constant').not.to.equal(source);
    helper = join(dir, 'helper.mjs');
    await writeFile(helper, copy);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const helperRun = (...argv: string[]): Promise<Exited> =>
    runToExit([process.execPath, helper, ...argv], { env: { PATH: process.env.PATH, LC_ALL: 'C' } });
  const move = (): Promise<Exited> =>
    helperRun('move', '--', join(dir, 'data', 'filepush', 'x_rport_filepush'), join(dir, 'allowed', 'f'));
  const writeConfig = async (text: string): Promise<void> => {
    await writeFile(config, text);
    await chmod(config, 0o644);
  };
  /** Exit 2, one line naming the config file and every part. */
  const expectConfigError = (r: Exited, ...parts: string[]): void => {
    expect(r.code, r.stderr).to.equal(2);
    const line = r.stderr.trim();
    expect(line.split('\n')).to.have.length(1);
    expect(line).to.match(/^rport-filepush-helper: config error: /);
    expect(line).to.contain(config);
    for (const part of parts) expect(line).to.contain(part);
  };

  it("the shipped config on a host without the agent's data_dir: names data_dir, its value and rport.conf's key", async () => {
    const missing = join(dir, 'no-agent-data');
    const shipped = await readFile(EXAMPLE, 'utf8');
    expect(shipped).to.match(/^data_dir = \/var\/lib\/rport$/m);
    await mkdir(join(dir, 'allowed'), { recursive: true });
    await writeConfig(
      shipped
        .replace(/^data_dir = .*$/m, `data_dir = ${missing}`)
        .replace(/^allow = .*$/m, `allow = ${join(dir, 'allowed')}`),
    );
    expectConfigError(await move(), `data_dir = ${missing}`, 'ENOENT', '[client] data_dir', 'rport.conf');
  });

  it('an allow root that does not exist: names allow and its value', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    const gone = join(dir, 'not-created');
    await writeConfig(`data_dir = ${join(dir, 'data')}\nallow = ${gone}\n`);
    expectConfigError(await move(), `allow = ${gone}`, 'ENOENT');
  });

  it('a data_dir that is a file: names data_dir, not a directory', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    await writeConfig(`data_dir = ${file}\n`);
    expectConfigError(await move(), `data_dir = ${file}`, 'not a directory');
  });

  it('an unknown key, a line that is not key = value, no data_dir: each names the file', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeConfig(`data_dir = ${join(dir, 'data')}\ncolour = blue\n`);
    expectConfigError(await move(), 'unknown key "colour"');
    await writeConfig(`data_dir ${join(dir, 'data')}\n`);
    expectConfigError(await move(), 'cannot read line');
    await writeConfig('setuid = no\n');
    expectConfigError(await move(), 'data_dir is not set');
  });

  it('a missing config, or one others may write: names the file', async () => {
    await rm(config, { force: true });
    expectConfigError(await move(), 'is missing');
    await writeConfig(`data_dir = ${join(dir, 'data')}\n`);
    await chmod(config, 0o666);
    expectConfigError(await move(), 'writable only by root');
  });

  it('a request the config does not allow is still a refusal (exit 3), naming the config', async () => {
    await mkdir(join(dir, 'data'), { recursive: true });
    await mkdir(join(dir, 'allowed'), { recursive: true });
    await writeConfig(`data_dir = ${join(dir, 'data')}\nallow = ${join(dir, 'allowed')}\n`);
    const r = await helperRun('move', '--', join(dir, 'data', 'filepush', 'x_rport_filepush'), '/etc/z');
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stderr)
      .to.match(/^rport-filepush-helper: refused: /)
      .and.contain(config);
  });
});
