import { expect } from 'chai';
import {
  chmod,
  lchown,
  lstat,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Cluster } from './helpers/cluster.ts';
import type { Outcome } from './helpers/outcome-listener.ts';

const ID = 'val-1';

/** The validators of issue 20 item 5 and the backups of item 6, through rportd and a real rport agent. */
describe('e2e: validators named on the agent and per-push backups, rportd + rport as processes', function () {
  this.timeout(90_000);
  let c: Cluster;
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'rport-val-e2e-'));
    c = await Cluster.start({
      agents: [
        {
          id: ID,
          fileReception: [
            'backup_keep = 3',
            'validate_timeout = 1',
            '[file-reception.validators]',
            `okcheck = ["/bin/sh", "-c", 'grep -q ok "$1"', "sh", "%s"]`,
            `hang = ["/bin/sh", "-c", 'sleep 60 & echo $! > ${scratch}/hang.pid; wait', "sh", "%s"]`,
          ],
        },
      ],
    });
  });
  after(async () => {
    await c?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  /** One upload to the agent: its outcome as broadcast, checked against GET /api/v1/files/:uuid. */
  async function push(rel: string, content: string, more: [string, string][] = []): Promise<Outcome> {
    const listener = await c.listen();
    try {
      const fields: [string, string][] = [['client_id', ID], ['dest', c.dest(rel)], ...more];
      const res = await c.upload({ name: 'upload', filename: 'f', content: Buffer.from(content) }, fields);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const uuid = (res.body.data as { uuid: string }).uuid;
      const [live] = await listener.outcomesOf(uuid, 1);
      const stored = await c.api('GET', `/api/v1/files/${uuid}`);
      const [target] = (stored.body!.data as { targets: Outcome[] }).targets;
      expect({ ...target, backup: target.backup }, 'stored as broadcast').to.deep.include({
        status: live.status,
        message: live.message,
        backup: live.backup,
      });
      return live;
    } finally {
      listener.close();
    }
  }

  it('a validator that accepts: the file is placed; one that refuses: an error quoting it, nothing placed', async () => {
    const ok = await push('site.conf', 'ok v1\n', [['validate', 'okcheck']]);
    expect(ok.status, ok.message).to.equal('success');
    expect(await readFile(c.onHost(ID, 'site.conf'), 'utf8')).to.equal('ok v1\n');
    const bad = await push('site.conf', 'bad\n', [
      ['validate', 'okcheck'],
      ['force', 'true'],
    ]);
    expect(bad.status).to.equal('error');
    expect(bad.message).to.contain(
      'validator "okcheck" ([file-reception.validators] okcheck) refused the file',
    );
    expect(bad.message).to.contain('exited with code 1');
    expect(bad.filepath).to.equal('');
    expect(await readFile(c.onHost(ID, 'site.conf'), 'utf8')).to.equal('ok v1\n');
    expect(await readdir(join(c.agentDataDir(ID), 'filepush'))).to.deep.equal([]);
  });

  it('a validator past validate_timeout is killed with what it started; nothing placed', async () => {
    const v = await push('slow.conf', 'ok\n', [['validate', 'hang']]);
    expect(v.status).to.equal('error');
    expect(v.message).to.contain(
      'did not finish within 1 s ([file-reception] validate_timeout) and was killed',
    );
    await expectMissing(c.onHost(ID, 'slow.conf'));
    const pid = Number((await readFile(join(scratch, 'hang.pid'), 'utf8')).trim());
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Killed before the outcome was sent: gone, or a zombie waiting for a reaper.
    expect(stat === '' || /^\d+ \(.*\) [ZX] /.test(stat), stat).to.equal(true);
  });

  it('an unknown name is an error naming the key; a command line is refused by rportd with 400 naming validate', async () => {
    const v = await push('u.conf', 'ok\n', [['validate', 'nginx']]);
    expect(v.status).to.equal('error');
    expect(v.message).to.contain(
      `validator "nginx" is not named in [file-reception.validators] of this client's rport.conf (it names okcheck, hang)`,
    );
    await expectMissing(c.onHost(ID, 'u.conf'));
    const res = await c.upload({ name: 'upload', filename: 'f', content: Buffer.from('x') }, [
      ['client_id', ID],
      ['dest', c.dest('u.conf')],
      ['validate', '/bin/rm -rf /'],
    ]);
    expect(res.status).to.equal(400);
    const [err] = (res.body as { errors: { detail: string }[] }).errors;
    expect(err.detail).to.contain('validate');
  });

  it('backup=true keeps each replaced file with its mode and owner; after 5 pushes the 3 newest remain', async () => {
    const rel = 'keep/app.conf';
    expect((await push(rel, 'v0\n')).status).to.equal('success');
    const real = c.onHost(ID, rel);
    // Each replaced file gets a mode (and, when this test runs as root, an owner) of its own first.
    const modes = [0o640, 0o600, 0o644, 0o660, 0o604];
    const owner = process.getuid?.() === 0 ? 65534 : (await lstat(real)).uid;
    const kept: string[] = [];
    for (let i = 1; i <= 5; i++) {
      await chmod(real, modes[i - 1]);
      await lchown(real, owner, -1);
      const v = await push(rel, `v${i}\n`, [
        ['force', 'true'],
        ['backup', 'true'],
      ]);
      expect(v.status, v.message).to.equal('success');
      expect(v.backup).to.match(new RegExp(`^${real}\\.\\d{8}T\\d{6}Z(\\d{2})?\\.bak$`));
      expect(v.message).to.contain(`the replaced file is kept as ${v.backup}`);
      kept.push(v.backup!);
    }
    const left = (await readdir(dirname(real))).filter((n) => n.endsWith('.bak')).sort();
    expect(left).to.deep.equal(kept.slice(2).map((p) => basename(p)));
    expect(await Promise.all(kept.slice(2).map((p) => readFile(p, 'utf8')))).to.deep.equal([
      'v2\n',
      'v3\n',
      'v4\n',
    ]);
    const attrs = await Promise.all(kept.slice(2).map(async (p) => lstat(p)));
    expect(attrs.map((s) => [s.mode & 0o7777, s.uid])).to.deep.equal(modes.slice(2).map((m) => [m, owner]));
    // Without backup (the agent's default is off), nothing more is kept.
    expect((await push(rel, 'v6\n', [['force', 'true']])).backup).to.equal(undefined);
  });

  it('links planted at the backup names are neither followed nor removed; the backup takes a free name', async () => {
    const rel = 'links/app.conf';
    expect((await push(rel, 'old\n')).status).to.equal('success');
    const real = c.onHost(ID, rel);
    const precious = join(scratch, 'precious');
    await writeFile(precious, 'precious\n');
    // Every second's first name for the next minute: whichever second the push lands in is taken.
    const now = Date.now();
    const planted = Array.from({ length: 60 }, (_, i) => `${real}.${stamp(new Date(now + i * 1000))}.bak`);
    for (const p of planted) await symlink(precious, p);
    const v = await push(rel, 'new\n', [
      ['force', 'true'],
      ['backup', 'true'],
    ]);
    expect(v.status, v.message).to.equal('success');
    expect(v.backup).to.match(/Z01\.bak$/);
    expect(await readFile(v.backup!, 'utf8')).to.equal('old\n');
    expect((await lstat(v.backup!)).isFile()).to.equal(true);
    expect(await readFile(precious, 'utf8')).to.equal('precious\n');
    for (const p of planted) expect(await readlink(p)).to.equal(precious);
  });
});

function stamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

async function expectMissing(path: string): Promise<void> {
  const e = await lstat(path).then(
    () => undefined,
    (x: NodeJS.ErrnoException) => x,
  );
  expect(e?.code, `${path} should not exist`).to.equal('ENOENT');
}
