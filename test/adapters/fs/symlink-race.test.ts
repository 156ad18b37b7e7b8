import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeAgent, type Agent } from './agent-fixture.ts';

// A second process flips `parent` between a real directory and a symlink into the stand-in protected dir.
// The agent creates missing parents, so it may make a new `parent` while the real one is away: that
// one is moved aside (outside the protected dir), or the flipper would be stuck with two full directories.
const FLIPPER = `
const fs = require('node:fs');
const [parent, guarded] = process.argv.slice(1);
const spare = parent + '.dir';
fs.mkdirSync(spare, { recursive: true });
process.stdout.write('ready\\n');
let aside = 0;
for (;;) {
  try { fs.renameSync(parent, spare); } catch {}
  try { fs.symlinkSync(guarded, parent); } catch {}
  try { fs.unlinkSync(parent); } catch {}
  try { fs.renameSync(spare, parent); } catch {
    try { fs.renameSync(parent, parent + '.aside' + aside++); fs.renameSync(spare, parent); } catch {}
  }
}
`;

describe('symlink race: a parent flipping between a directory and a link into a protected dir', function () {
  this.timeout(180_000);
  let agent: Agent;
  let flipper: ChildProcess | undefined;

  afterEach(async () => {
    if (flipper?.pid) process.kill(flipper.pid, 'SIGKILL');
    flipper = undefined;
    await agent.cleanup();
  });

  it('across 1,000 pushes nothing lands in the protected dir', async () => {
    agent = await makeAgent({ protectedPaths: (root) => ['/bin', join(root, 'guarded')] });
    const stand = join(agent.root, 'guarded');
    await mkdir(stand);
    const parent = join(agent.root, 'work', 'flip');
    await mkdir(parent, { recursive: true });
    flipper = spawn(process.execPath, ['-e', FLIPPER, parent, stand], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((ok) => flipper!.stdout!.once('data', ok));
    const tally = { success: 0, error: 0, ignored: 0 };
    for (let i = 0; i < 1000; i++) {
      const v = await agent.push(join(parent, `f${i}.txt`), `push ${i}`);
      tally[v.status]++;
    }
    process.kill(flipper.pid!, 'SIGKILL');
    flipper = undefined;
    expect(await readdir(stand)).to.deep.equal([]);
    // The race really ran: some pushes were refused, and some got through to the real directory.
    expect(tally.error, JSON.stringify(tally)).to.be.greaterThan(0);
    expect(tally.success, JSON.stringify(tally)).to.be.greaterThan(0);
  });

  it('sync of identical content with another mode: across 1,000 pushes no file in the protected dir changes mode', async () => {
    agent = await makeAgent({ protectedPaths: (root) => ['/bin', join(root, 'guarded')] });
    const stand = join(agent.root, 'guarded');
    const parent = join(agent.root, 'work', 'flip');
    const names = ['f0', 'f1', 'f2', 'f3'];
    // The same bytes on both sides: sync then only changes mode, and a chmod that followed the
    // swapped parent would land on the guarded twin.
    for (const dir of [stand, parent]) {
      await mkdir(dir, { recursive: true });
      for (const n of names) {
        await writeFile(join(dir, n), 'same');
        await chmod(join(dir, n), 0o644);
      }
    }
    flipper = spawn(process.execPath, ['-e', FLIPPER, parent, stand], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((ok) => flipper!.stdout!.once('data', ok));
    const tally = { success: 0, error: 0, ignored: 0 };
    for (let i = 0; i < 1000; i++) {
      const mode = i % 2 === 0 ? 0o600 : 0o640;
      const v = await agent.push(join(parent, names[i % names.length]), 'same', { sync: true, mode });
      tally[v.status]++;
    }
    process.kill(flipper.pid!, 'SIGKILL');
    flipper = undefined;
    expect((await readdir(stand)).sort()).to.deep.equal(names);
    for (const n of names) {
      const s = await lstat(join(stand, n));
      expect(s.mode & 0o7777, `${n}: ${JSON.stringify(tally)}`).to.equal(0o644);
      expect(await readFile(join(stand, n), 'utf8')).to.equal('same');
    }
    expect(tally.error, JSON.stringify(tally)).to.be.greaterThan(0);
    expect(tally.success, JSON.stringify(tally)).to.be.greaterThan(0);
  });
});
