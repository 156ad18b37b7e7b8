import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildProcessValidatorRunner } from '../../../src/adapters/process/child-process-validator-runner.ts';

describe('ChildProcessValidatorRunner: a validator argv run as a real process', () => {
  const runner = new ChildProcessValidatorRunner();
  let dir: string;

  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'rport-val-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('exit 0 and a non-zero exit with its stderr, the argv passed as is (no shell)', async () => {
    const file = join(dir, 'f');
    await writeFile(file, 'ok\n');
    const grep = ['/bin/sh', '-c', 'grep -q ok "$1" || { echo "no ok in $1" >&2; exit 3; }', 'sh', file];
    expect(await runner.run(grep, 10_000)).to.include({ exitCode: 0, timedOut: false });
    await writeFile(file, 'bad\n');
    const r = await runner.run(grep, 10_000);
    expect(r).to.include({ exitCode: 3, timedOut: false, stderr: `no ok in ${file}\n` });
    // A path with shell characters is one argument, never interpreted.
    const odd = join(dir, 'a b;$(touch x)');
    await writeFile(odd, 'ok');
    expect((await runner.run(['/bin/cat', odd], 10_000)).stdout).to.equal('ok');
  });

  it('past its time limit the whole process group is killed, a child it started too', async () => {
    const pidFile = join(dir, 'child.pid');
    const r = await runner.run(['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], 300);
    expect(r).to.include({ timedOut: true, exitCode: null });
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    // Gone, or a zombie no one reaps (the test's container may have no init to): either way not running.
    const running = async (): Promise<boolean> => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      return stat !== '' && !/^\d+ \(.*\) [ZX] /.test(stat);
    };
    let alive = await running();
    // SIGKILL is delivered asynchronously: a bounded wait, not a timing assertion.
    for (let i = 0; i < 100 && alive; i++) {
      await new Promise((res) => setTimeout(res, 20));
      alive = await running();
    }
    expect(alive, 'the sleep the validator started').to.equal(false);
  });

  it('output past the capture is dropped, and the child is never blocked by a full pipe', async () => {
    const r = await runner.run(
      ['/bin/sh', '-c', 'head -c 1000000 /dev/zero | tr "\\0" x >&2; exit 1'],
      10_000,
    );
    expect(r.exitCode).to.equal(1);
    expect(r.stderr.length).to.equal(16 * 1024);
  });

  it('a program that does not exist: the run throws, naming it', async () => {
    const e = await runner.run(['/nonexistent/validator', 'x'], 1000).then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).to.contain('/nonexistent/validator');
    expect(e?.message).to.contain('ENOENT');
  });
});
