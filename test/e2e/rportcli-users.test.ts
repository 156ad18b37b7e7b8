import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster } from './helpers/cluster.ts';
import { BIN, runToEnd } from './helpers/processes.ts';

describe('e2e: bin/rportcli.js users add, then that user logs in and uploads (rportd with database users)', function () {
  this.timeout(90_000);
  let c: Cluster;
  before(async () => {
    c = await Cluster.start({
      agents: [
        { id: 'usr-1', tags: ['web'] },
        { id: 'usr-2', tags: ['db'] },
      ],
      databaseUsers: true,
    });
  });
  after(async () => c?.stop());

  const base = (home: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    RPORT_API_URL: c.url,
  });

  it('an admin adds a user in a user group; the user logs in, pushes to the allowed client group, and is refused elsewhere', async () => {
    const adminEnv = {
      ...base(join(c.dir, 'admin')),
      RPORT_API_USER: 'admin',
      RPORT_API_PASSWORD: c.admin.password,
    };
    const group = await c.api('POST', '/api/v1/client-groups', {
      id: 'web',
      params: { tag: ['web'] },
      allowed_user_groups: ['Web'],
    });
    expect(group.status).to.equal(201);
    const add = await runToEnd(
      BIN.rportcli,
      ['users', 'add', 'uma', '--groups', 'Web', '--password', 'uma-pass-12'],
      adminEnv,
    );
    expect(add.code, add.stderr).to.equal(0);
    expect(add.stdout).to.include('added API user uma in Web');
    const list = await runToEnd(BIN.rportcli, ['users', 'list', '--json'], adminEnv);
    expect(JSON.parse(list.stdout)).to.deep.include({ username: 'uma', groups: ['Web'] });

    const umaEnv = base(join(c.dir, 'uma'));
    const login = await runToEnd(
      BIN.rportcli,
      ['login', '--user', 'uma', '--password', 'uma-pass-12'],
      umaEnv,
    );
    expect(login.code, login.stderr).to.equal(0);
    const file = join(c.dir, 'uma.txt');
    const content = randomBytes(5000);
    await writeFile(file, content);
    const up = await runToEnd(
      BIN.rportcli,
      ['upload', file, '--group-id', 'web', '--dest', c.dest('uma/uma.txt'), '--json'],
      umaEnv,
    );
    expect(up.code, up.stderr).to.equal(0);
    const json = JSON.parse(up.stdout) as { results: { client_id: string; status: string }[] };
    expect(json.results.map((r) => [r.client_id, r.status])).to.deep.equal([['usr-1', 'success']]);
    expect((await readFile(c.onHost('usr-1', 'uma/uma.txt'))).equals(content)).to.equal(true);

    const refused = await runToEnd(
      BIN.rportcli,
      ['upload', file, '--client', 'usr-2', '--dest', c.dest('uma/uma.txt')],
      umaEnv,
    );
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.match(/HTTP 403/);

    const passwd = await runToEnd(
      BIN.rportcli,
      ['passwd', '--old-password', 'uma-pass-12', '--new-password', 'uma-pass-34'],
      umaEnv,
    );
    expect(passwd.code, passwd.stderr).to.equal(0);
    expect(passwd.stdout).to.match(/run `rportcli login` again/);
    const stale = await runToEnd(BIN.rportcli, ['clients'], umaEnv);
    expect(stale.code).to.equal(2);
    expect(stale.stderr).to.match(/HTTP 401/);
  });
});
