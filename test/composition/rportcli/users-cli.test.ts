import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { adminHome, cli, startCliServer, type CliServer } from './harness.ts';

describe('rportcli users, user-groups and passwd (prompts on a terminal)', () => {
  let srv: CliServer;
  let home: string;
  let env: Record<string, string>;
  before(async () => {
    srv = await startCliServer();
    ({ home, env } = await adminHome(srv, 'rportcli-users-', 'f.txt', 'x'));
  });
  after(async () => {
    await srv.close();
    await rm(home, { recursive: true, force: true });
  });

  it('users add asks the password twice; passwd asks the old and the new one; wrong answers exit 2', async () => {
    const add = await cli(['users', 'add', 'pat', '--groups', 'Web'], env, 'pat-pass-12\npat-pass-12\n');
    expect(add.code, add.stderr).to.equal(0);
    const differ = await cli(['users', 'add', 'quinn'], env, 'quinn-pass-1\nquinn-pass-2\n');
    expect([differ.code, differ.stderr]).to.deep.equal([
      2,
      'password for quinn: \nagain: \nrportcli: the two passwords differ\n',
    ]);
    const noTty = await cli(['users', 'add', 'quinn'], env);
    expect(noTty.code).to.equal(2);
    expect(noTty.stderr).to.match(/stdin is not a terminal/);

    const pat = { ...env, RPORT_API_USER: 'pat', RPORT_API_PASSWORD: 'pat-pass-12' };
    const wrong = await cli(['passwd'], pat, 'not-it-at-all\npat-pass-34\npat-pass-34\n');
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.match(/HTTP 403.*old_password is not the current password/);
    const ok = await cli(['passwd'], pat, 'pat-pass-12\npat-pass-34\npat-pass-34\n');
    expect(ok.code, ok.stderr).to.equal(0);
    const me = await cli(['users', 'list', '--json'], { ...pat, RPORT_API_PASSWORD: 'pat-pass-34' });
    expect(me.code).to.equal(2);
    expect(me.stderr).to.match(/HTTP 403/);

    const list = await cli(['users', 'list'], env);
    expect(list.stdout).to.match(/^pat\s+Web$/m);
    const set = await cli(['user-groups', 'set', 'Web', '--permission', 'uploads'], env);
    expect(set.code, set.stderr).to.equal(0);
    const groups = await cli(['user-groups', 'list', '--json'], env);
    expect(JSON.parse(groups.stdout)).to.deep.include({ name: 'Web', permissions: { uploads: true } });
    expect((await cli(['user-groups', 'delete', 'Web'], env)).code).to.equal(0);
    expect((await cli(['users', 'update', 'pat', '--groups', 'Db'], env)).code).to.equal(0);
    expect((await cli(['users', 'delete', 'pat'], env)).stdout).to.equal('removed API user pat\n');
    const again = await cli(['users', 'delete', 'pat'], env);
    expect([again.code, again.stderr]).to.deep.equal([
      2,
      'rportcli: the server refused the request (HTTP 404): user_id: no user "pat"\n',
    ]);
  });
});
