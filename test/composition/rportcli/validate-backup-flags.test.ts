import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import type { PushRequest } from '../../../src/domain/push-request.ts';
import { adminHome, cli, startCliServer, type CliServer } from './harness.ts';

describe('rportcli upload --validate, --backup and --no-backup against a real rportd', function () {
  this.timeout(30000);
  let srv: CliServer;
  let home: string;
  let file: string;
  let env: Record<string, string>;
  const seen: PushRequest[] = [];

  before(async () => {
    srv = await startCliServer();
    await srv.connect('gamma', async (r) => {
      seen.push(r);
      return {
        status: 'success',
        message: `file successfully copied to destination; the replaced file is kept as ${r.destination}.20261204T193000Z.bak`,
        changed: true,
        backup: `${r.destination}.20261204T193000Z.bak`,
      };
    });
    ({ home, file, env } = await adminHome(srv, 'rportcli-vb-', 'app.conf', 'ok\n'));
  });
  after(async () => {
    await srv?.close();
    await rm(home, { recursive: true, force: true });
  });

  const upload = (...more: string[]) =>
    cli(['upload', file, '--client', 'gamma', '--dest', '/srv/app.conf', '--json', ...more], env);

  it('the flags become the validate and backup fields the agent receives; without them neither is sent', async () => {
    const first = await upload('--validate', 'nginx', '--backup');
    expect(first.code, first.stderr).to.equal(0);
    const results = (JSON.parse(first.stdout) as { results: { backup?: string }[] }).results;
    expect(results[0].backup).to.equal('/srv/app.conf.20261204T193000Z.bak');
    expect((await upload('--no-backup')).code).to.equal(0);
    expect((await upload()).code).to.equal(0);
    expect(seen.map((r) => [r.validate, r.backup])).to.deep.equal([
      ['nginx', true],
      [undefined, false],
      [undefined, undefined],
    ]);
    expect('validate' in seen[2] || 'backup' in seen[2]).to.equal(false);
  });

  it('the stored upload shows them, and each target the backup it kept', async () => {
    const r = await upload('--validate', 'nginx', '--backup');
    const uuid = (JSON.parse(r.stdout) as { uuid: string }).uuid;
    const st = await cli(['status', uuid, '--json'], env);
    const stored = JSON.parse(st.stdout) as {
      upload: Record<string, unknown>;
      targets: { backup?: string }[];
    };
    expect(stored.upload).to.include({ validate: 'nginx', backup: true });
    expect(stored.targets[0].backup).to.equal('/srv/app.conf.20261204T193000Z.bak');
  });

  it('a --validate that is a command line is refused by rportd naming validate; nothing reaches the agent', async () => {
    const before = seen.length;
    const r = await upload('--validate', '/usr/sbin/nginx -t');
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('HTTP 400').and.contain('validate');
    expect(seen.length).to.equal(before);
  });
});
