import { expect } from 'chai';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_HELPER, SudoPrivilegedFiles } from '../../../src/adapters/sudo/sudo-privileged-files.ts';

// A stand-in for sudo that records its argv, one per line, and answers as told.
const RECORDER = (log: string, reply: string, status: number) => `#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a" >> '${log}'; done
printf '%s\\n' '${reply}' >&2
exit ${status}
`;

describe('SudoPrivilegedFiles: what reaches sudo', () => {
  let root: string;
  let log: string;
  let temp: string;
  const make = async (reply = '', status = 0): Promise<SudoPrivilegedFiles> => {
    const sudo = join(root, 'fake-sudo');
    await writeFile(sudo, RECORDER(log, reply, status));
    await chmod(sudo, 0o755);
    return new SudoPrivilegedFiles({ dataDir: join(root, 'data'), sudo });
  };
  const ran = async (): Promise<string[]> =>
    (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const fails = async (p: Promise<unknown>): Promise<Error> =>
    p.then(
      () => expect.fail('expected a refusal'),
      (e: Error) => e,
    );

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'rport-sudo-'));
    log = join(root, 'argv.log');
    temp = join(root, 'data', 'filepush', '0b4c5e52-4e1f-4b5e-9d2a-1c3f5a7b9d0e_rport_filepush');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('runs sudo -n <helper> with an argv array, paths after --', async () => {
    const p = await make();
    await p.chown(temp, { user: 'nobody', group: 'nogroup' });
    await p.chmod(temp, 0o4755);
    await p.move(temp, '/srv/app/my file.txt');
    expect(await ran()).to.deep.equal([
      ...['-n', DEFAULT_HELPER, 'chown', '--', 'nobody:nogroup', temp],
      ...['-n', DEFAULT_HELPER, 'chmod', '--', '04755', temp],
      ...['-n', DEFAULT_HELPER, 'move', '--', temp, '/srv/app/my file.txt'],
    ]);
  });

  it('bad input: option-like and shell-like user/group names never reach a command', async () => {
    const p = await make();
    for (const user of ['--reference=/etc/shadow', '$(id)', 'root;id', 'a b', '-h']) {
      const e = await fails(p.chown(temp, { user }));
      expect(e.message).to.contain(`user "${user}"`);
    }
    expect((await fails(p.chown(temp, { group: '`id`' }))).message).to.contain('group "`id`"');
    expect(await ran()).to.deep.equal([]);
  });

  it('bad input: only our own temp files are ever handed to sudo', async () => {
    const p = await make();
    const others = [
      '/etc/shadow',
      join(root, 'data/filepush/../../x_rport_filepush'),
      join(root, 'data/filepush/x'),
      join(root, 'data/other/x_rport_filepush'),
      `${temp} /etc/shadow`,
    ];
    for (const path of others) {
      expect((await fails(p.chown(path, { user: 'root' }))).message).to.contain('is not an rport temp file');
      expect((await fails(p.chmod(path, 0o644))).message).to.contain('is not an rport temp file');
      expect((await fails(p.move(path, '/srv/x'))).message).to.contain('is not an rport temp file');
    }
    expect(await ran()).to.deep.equal([]);
  });

  it('bad input: a destination that is not a normalised absolute path, or a mode out of range, is refused', async () => {
    const p = await make();
    for (const dest of ['relative/x', '/srv/../etc/x', '/srv//x', '/srv/x/', '/', '/srv/x\nsecond']) {
      expect((await fails(p.move(temp, dest))).message).to.contain('destination');
    }
    expect((await fails(p.chmod(temp, 0o17777))).message).to.contain('mode');
    expect(await ran()).to.deep.equal([]);
  });

  it('no matching sudo rule: fails fast with an error quoting the command and pointing to docs/sudoers.example', async () => {
    const p = await make('sudo: a password is required', 1);
    const e = await fails(p.move(temp, '/srv/app/x'));
    expect(e.message).to.contain(
      `"${join(root, 'fake-sudo')} -n ${DEFAULT_HELPER} move -- ${temp} /srv/app/x"`,
    );
    expect(e.message).to.contain('docs/sudoers.example');
    expect(e.message).to.contain('a password is required');
  });

  it("the helper's own refusal is passed on as it said it", async () => {
    const p = await make('rport-filepush-helper: refused: /etc/x is not beneath an allow root', 3);
    const e = await fails(p.move(temp, '/etc/x'));
    expect(e.message).to.contain('refused: /etc/x is not beneath an allow root');
    expect(e.message).to.not.contain('sudoers.example');
  });
});
