import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

describe('crash between write and rename (kill -9 of the agent)', function () {
  this.timeout(30_000);
  let root: string;
  beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'rport-crash-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('leaves the destination untouched, and the next start sweeps the temp file', async () => {
    const dataDir = join(root, 'data');
    const dest = join(root, 'service.conf');
    await writeFile(dest, 'the old config');
    const before = await stat(dest);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, dest], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((ok, fail) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('written') && ok());
        child.once('exit', (code) => fail(new Error(`child exited early with ${code}`)));
      });
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((ok) =>
      child.exitCode !== null || child.signalCode !== null ? ok(null) : child.once('exit', ok),
    );
    const temp = join(dataDir, 'filepush', 'crash_rport_filepush');
    expect((await stat(temp)).size, 'the killed agent had written part of the temp file').to.be.greaterThan(
      0,
    );
    expect(await readFile(dest, 'utf8')).to.equal('the old config');
    expect((await stat(dest)).ino).to.equal(before.ino);

    const removed = await new FsLocalFiles({ dataDir }).sweep();
    expect(removed).to.equal(1);
    expect(await readdir(join(dataDir, 'filepush'))).to.deep.equal([]);
    expect(await readFile(dest, 'utf8')).to.equal('the old config');
  });
});
