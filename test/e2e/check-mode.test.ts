import { expect } from 'chai';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster } from './helpers/cluster.ts';
import { BIN, runToEnd } from './helpers/processes.ts';

// Two agents with the defaults, and one whose rport.conf says [file-reception] diff = false.
const AGENTS = [{ id: 'chk-1' }, { id: 'chk-2' }, { id: 'chk-nodiff', fileReception: ['diff = false'] }];
const ALL = AGENTS.map((a) => a.id);
const OLD = 'listen = 80\nworkers = 4\nlog = /var/log/app\n';
const NEW = 'listen = 8080\nworkers = 4\nlog = /var/log/app\n';

interface Target {
  client_id: string;
  status: string;
  message: string;
  changed: boolean;
  filepath: string;
  diff?: string;
}

describe('e2e: rportcli upload --check --diff through rportd and three rport agents as processes', function () {
  this.timeout(60_000);
  let c: Cluster;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    c = await Cluster.start({ agents: AGENTS });
    env = {
      PATH: process.env.PATH,
      HOME: c.dir,
      XDG_CONFIG_HOME: join(c.dir, 'config'),
      RPORT_API_URL: c.url,
      RPORT_API_USER: c.admin.username,
      RPORT_API_PASSWORD: c.admin.password,
    };
  });
  after(async () => c?.stop());

  /** What a test must find unchanged on a host: the bytes, the mode and the mtime. */
  const fingerprintOf = async (id: string, rel: string) => {
    const path = c.onHost(id, rel);
    const s = await stat(path);
    return { bytes: (await readFile(path)).toString('base64'), mode: s.mode, mtime: s.mtimeMs, ino: s.ino };
  };

  async function upload(file: string, rel: string, flags: string[]) {
    const args = ['upload', file, '--client', ALL.join(','), '--dest', c.dest(rel), ...flags];
    const r = await runToEnd(BIN.rportcli, args, env);
    const uuid = /upload ([0-9a-f-]{36})/.exec(r.stdout)?.[1];
    if (!uuid) throw new Error(`no upload uuid (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    const stored = await c.api('GET', `/api/v1/files/${uuid}`);
    const data = stored.body!.data as { targets: Target[]; check?: boolean; diff?: boolean };
    return { ...r, uuid, data, byId: new Map(data.targets.map((t) => [t.client_id, t])) };
  }

  it('a check with diff prints each diff under its row and leaves every host untouched; the real push then changes them', async () => {
    for (const id of ALL) await writeFile(c.onHost(id, 'app.conf'), OLD, { mode: 0o640 });
    const before = await Promise.all(ALL.map((id) => fingerprintOf(id, 'app.conf')));
    const file = join(c.dir, 'app.conf');
    await writeFile(file, NEW);

    const check = await upload(file, 'app.conf', ['--check', '--diff', '--force']);
    expect(check.code, check.stderr).to.equal(0);
    const diff =
      `--- ${c.dest('app.conf')}\n+++ ${c.dest('app.conf')} (pushed)\n` +
      '@@ -1,3 +1,3 @@\n-listen = 80\n+listen = 8080\n workers = 4\n log = /var/log/app\n';
    const indented = diff
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
    expect(check.stdout).to.match(
      /chk-1 {2}success {2}changed {2}check: would replace .*; mode 0640 -> 0764\n/,
    );
    expect(check.stdout).to.contain(`check: would replace`);
    expect(check.stdout).to.contain(indented);
    expect(check.stdout).to.match(
      /chk-nodiff {2}success {2}changed {2}check: would replace [^\n]*\n {4}no diff: diff is disabled on this host \(\[file-reception\] diff = false in rport.conf\)\n/,
    );
    expect(check.stdout).to.contain('check, nothing changed: 3 targets: 3 success; 3 changed');
    // Stored as broadcast, and the upload says it was a check.
    expect(check.data).to.include({ check: true, diff: true });
    expect(check.byId.get('chk-2')).to.include({ status: 'success', changed: true, filepath: '', diff });
    expect(check.byId.get('chk-nodiff')?.diff).to.match(/^no diff: diff is disabled/);
    expect(JSON.stringify(check.byId.get('chk-nodiff'))).to.not.contain('listen');
    // Nothing changed on any host: bytes, mode, mtime, inode; no temp file left on agents or server.
    expect(await Promise.all(ALL.map((id) => fingerprintOf(id, 'app.conf')))).to.deep.equal(before);
    for (const id of ALL) expect(await c.filepush(id), id).to.deep.equal([]);
    expect(await c.filepush()).to.deep.equal([]);

    const real = await upload(file, 'app.conf', ['--diff', '--force', '--mode', '0640']);
    expect(real.code, real.stderr).to.equal(0);
    expect(real.byId.get('chk-1')).to.include({ status: 'success', changed: true, diff });
    expect(real.byId.get('chk-1')?.message).to.equal('file successfully copied to destination');
    for (const id of ALL) expect(await readFile(c.onHost(id, 'app.conf'), 'utf8'), id).to.equal(NEW);
  });

  it('a binary file: no diff, saying why; the check changes nothing', async () => {
    const old = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0x02]);
    for (const id of ALL) await writeFile(c.onHost(id, 'tool.bin'), old);
    const before = await Promise.all(ALL.map((id) => fingerprintOf(id, 'tool.bin')));
    const file = join(c.dir, 'tool.bin');
    await writeFile(file, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x09]));
    const check = await upload(file, 'tool.bin', ['--check', '--diff', '--sync']);
    expect(check.code, check.stderr).to.equal(0);
    expect(check.byId.get('chk-1')).to.include({ diff: 'no diff: the old file is binary', changed: true });
    expect(check.stdout).to.contain('    no diff: the old file is binary\n');
    expect(await Promise.all(ALL.map((id) => fingerprintOf(id, 'tool.bin')))).to.deep.equal(before);
  });
});
