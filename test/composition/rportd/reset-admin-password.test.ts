import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, Proc, requireBuilt, runToEnd } from '../../e2e/helpers/processes.ts';

describe('rportd --reset-admin-password (bin/rportd.js)', function () {
  this.timeout(60_000);
  let dir: string;
  let conf: string;
  before(async () => {
    requireBuilt();
    dir = await mkdtemp(join(tmpdir(), 'rportd-reset-'));
    conf = join(dir, 'rportd.conf');
    await writeFile(
      conf,
      `[server]\naddress = "127.0.0.1:0"\ndata_dir = "${join(dir, 'data')}"\n[api]\naddress = "127.0.0.1:0"\n`,
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    ...extra,
  });
  const login = async (url: string, password: string): Promise<number> =>
    (
      await fetch(`${url}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      })
    ).status;

  it('refuses while rportd runs; once stopped it sets the new password (env) or prints one, and the old password stops working', async () => {
    const first = new Proc('rportd', BIN.rportd, ['--config', conf], { env: env() });
    const url = (await first.waitFor(/rportd API listening on (http:\/\/[0-9.]+:\d+)/, 30_000))[1];
    const original = (await first.waitFor(/with password:\s+(\S+)/, 30_000))[1];
    expect(await login(url, original)).to.equal(200);

    const busy = await runToEnd(
      BIN.rportd,
      ['--config', conf, '--reset-admin-password'],
      env({ RPORTD_ADMIN_PASSWORD: 'x'.repeat(12) }),
    );
    expect(busy.code).to.equal(1);
    expect(busy.stderr).to.match(/rportd is running with data_dir .*stop it/);
    expect(await first.stop()).to.equal(0);

    const reset = await runToEnd(
      BIN.rportd,
      ['--config', conf, '--reset-admin-password'],
      env({ RPORTD_ADMIN_PASSWORD: 'new-admin-pass-1' }),
    );
    expect(reset.code, reset.stderr).to.equal(0);
    expect(reset.stdout).to.equal('');
    const printed = await runToEnd(BIN.rportd, ['--config', conf, '--reset-admin-password'], env());
    expect(printed.code, printed.stderr).to.equal(0);
    const generated = printed.stdout.trim();
    expect(generated).to.match(/^[A-Za-z0-9_-]{24}$/);

    const second = new Proc('rportd', BIN.rportd, ['--config', conf], { env: env() });
    const url2 = (await second.waitFor(/rportd API listening on (http:\/\/[0-9.]+:\d+)/, 30_000))[1];
    expect(await login(url2, original)).to.equal(401);
    expect(await login(url2, 'new-admin-pass-1')).to.equal(401);
    expect(await login(url2, generated)).to.equal(200);
    expect(await second.stop()).to.equal(0);
  });

  it('with a static [api] auth it refuses, naming the key', async () => {
    const staticConf = join(dir, 'static.conf');
    await writeFile(
      staticConf,
      `[server]\ndata_dir = "${join(dir, 'static')}"\n[api]\nauth = "root:static-pass-1"\n`,
    );
    const r = await runToEnd(BIN.rportd, ['--config', staticConf, '--reset-admin-password'], env());
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('[api] auth');
  });
});
