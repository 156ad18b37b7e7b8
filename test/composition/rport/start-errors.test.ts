import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cannotRunAsRport, runToExit, type Exited } from '../../support/exit-run.ts';

// The shipped agent: bin/rport.js runs the bundle, as on a managed host.
const BIN = fileURLToPath(new URL('../../../bin/rport.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../../dist/bundle/rport.js', import.meta.url));
const FINGERPRINT = `SHA256:${'A'.repeat(43)}`;

/** Exit 2 and one line on stderr naming `[client] data_dir` in rport.conf, the path and the reason. */
function expectDataDirError(r: Exited, dataDir: string, ...parts: string[]): void {
  expect(r.code, r.stderr).to.equal(2);
  const line = r.stderr.trim();
  expect(line.split('\n'), 'one line, no stack trace').to.have.length(1);
  expect(line).to.contain(`rport: rport.conf [client] data_dir: "${dataDir}"`);
  for (const part of parts) expect(line).to.contain(part);
}

describe('rport start errors (bin/rport.js): a data_dir it cannot use is one line naming the key, exit 2', function () {
  this.timeout(60_000);
  let dir: string;
  let n = 0;
  before(async function () {
    if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`);
    dir = await mkdtemp(join(tmpdir(), 'rport-start-errors-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** An rport.conf (0600) whose server is never reached: the start fails before connecting. */
  async function conf(dataDir: string): Promise<string> {
    const path = join(dir, `rport-${++n}.conf`);
    await writeFile(
      path,
      [
        '[client]',
        'server = "127.0.0.1:9"',
        `fingerprint = "${FINGERPRINT}"`,
        'auth = "c1:secret"',
        'id = "start-errors"',
        `data_dir = "${dataDir}"`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return path;
  }

  it('a data_dir that cannot be created (a file is in the way)', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    const dataDir = join(dir, 'a-file', 'data');
    const r = await runToExit([process.execPath, BIN, '--config', await conf(dataDir)]);
    expectDataDirError(r, dataDir, 'cannot create it', 'ENOTDIR');
  });

  it('a data_dir whose filepush/ is not a directory', async () => {
    const dataDir = join(dir, 'blocked');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'filepush'), 'x');
    const r = await runToExit([process.execPath, BIN, '--config', await conf(dataDir)]);
    expectDataDirError(r, dataDir, join(dataDir, 'filepush'), 'not a directory');
  });

  it('a data_dir the agent user may not create or write in (run as the rport user)', async function () {
    const why = await cannotRunAsRport([BIN, BUNDLE]);
    if (why) {
      console.warn(`      SKIPPED the unprivileged data_dir cases: ${why}`);
      return this.skip();
    }
    await chmod(dir, 0o755);
    const locked = join(dir, 'locked');
    await mkdir(locked, { mode: 0o755 });
    await chmod(locked, 0o755);
    const asRport = async (dataDir: string): Promise<Exited> => {
      const path = await conf(dataDir);
      await chmod(path, 0o644);
      return runToExit(['runuser', '-u', 'rport', '--', process.execPath, BIN, '--config', path], {
        cwd: '/',
      });
    };
    expectDataDirError(await asRport(locked), locked, 'cannot write in it', 'EACCES');
    const below = join(locked, 'data');
    expectDataDirError(await asRport(below), below, 'cannot create it', 'EACCES');
  });

  it('an unknown command-line option exits 2, a missing rport.conf too', async () => {
    const r = await runToExit([process.execPath, BIN, '--no-such-option']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("unknown option '--no-such-option'");
    const missing = join(dir, 'missing.conf');
    const m = await runToExit([process.execPath, BIN, '--config', missing]);
    expect(m.code).to.equal(2);
    expect(m.stderr).to.contain(missing).and.contain('ENOENT');
  });
});
