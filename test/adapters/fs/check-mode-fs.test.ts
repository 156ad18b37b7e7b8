import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failure, makeAgent, type Agent } from './agent-fixture.ts';

describe('check mode and diff on the real filesystem (FsLocalFiles)', () => {
  let agent: Agent;
  let out: string;
  beforeEach(async () => {
    agent = await makeAgent();
    out = join(agent.root, 'out');
    await mkdir(out);
  });
  afterEach(() => agent.cleanup());

  const tempFiles = async (): Promise<string[]> =>
    (await readdir(join(agent.dataDir, 'filepush')).catch(() => [])).filter((n) =>
      n.endsWith('_rport_filepush'),
    );

  it('check with diff: the diff of the file on disk; its bytes, mode and mtime stay; no temp file left', async () => {
    const dest = join(out, 'app.conf');
    await writeFile(dest, 'port = 80\nhost = a\n', { mode: 0o640 });
    const before = await stat(dest);
    const v = await agent.push(dest, 'port = 8080\nhost = a\n', { check: true, force: true, diff: true });
    expect(v.status).to.equal('success');
    expect(v.message).to.match(/^check: would replace .*app\.conf: the content differs; mode 0640 -> 0764$/);
    expect(v.diff).to.equal(
      `--- ${dest}\n+++ ${dest} (pushed)\n@@ -1,2 +1,2 @@\n-port = 80\n+port = 8080\n host = a\n`,
    );
    const after = await stat(dest);
    expect(await readFile(dest, 'utf8')).to.equal('port = 80\nhost = a\n');
    expect(after.mode & 0o7777).to.equal(0o640);
    expect(after.mtimeMs).to.equal(before.mtimeMs);
    expect(after.ino).to.equal(before.ino);
    expect(await tempFiles()).to.deep.equal([]);
  });

  it('check of a new file creates nothing, not even its parent directories', async () => {
    const dest = join(out, 'new/dir/file.txt');
    const v = await agent.push(dest, 'x', { check: true, diff: true });
    expect(v.message).to.match(/^check: would create .*file\.txt \(1 bytes, mode 0764, owner \d+:\d+\)$/);
    expect(v.diff).to.equal(`no diff: there is no old file at ${dest}`);
    expect(await readdir(out)).to.deep.equal([]);
  });

  it('a binary old file: no diff, saying so; the real push with diff still replaces it', async () => {
    const dest = join(out, 'blob.bin');
    await writeFile(dest, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    const v = await agent.push(dest, 'text now\n', { force: true, diff: true });
    expect(v.status).to.equal('success');
    expect(v.diff).to.equal('no diff: the old file is binary');
    expect(await readFile(dest, 'utf8')).to.equal('text now\n');
  });

  it('readUpTo refuses a symbolic link at the end (ELOOP) and a FIFO without blocking', async () => {
    const target = join(out, 'target.txt');
    await writeFile(target, 'secret');
    await symlink(target, join(out, 'link'));
    expect((await failure(agent.files.readUpTo(join(out, 'link'), 100))).code).to.equal('ELOOP');
    execFileSync('mkfifo', [join(out, 'fifo')]);
    const e = await failure(agent.files.readUpTo(join(out, 'fifo'), 100));
    expect(e.message).to.contain('is not a regular file');
  });
});
