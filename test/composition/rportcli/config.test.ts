import { expect } from 'chai';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  configDir,
  resolveConnection,
  saveLogin,
  savedLoginPath,
} from '../../../src/composition/rportcli/config.ts';
import { CliError } from '../../../src/composition/rportcli/errors.ts';

describe('rportcli configuration', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'rportcli-config-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('keeps the login in $XDG_CONFIG_HOME/rportcli, else ~/.config/rportcli', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' })).to.equal('/x/cfg/rportcli');
    expect(configDir({ HOME: '/home/a' })).to.equal('/home/a/.config/rportcli');
    // A relative XDG_CONFIG_HOME is invalid by the XDG spec and ignored.
    expect(configDir({ XDG_CONFIG_HOME: 'rel', HOME: '/home/a' })).to.equal('/home/a/.config/rportcli');
  });

  it('saves the token with mode 0600 in a 0700 directory, replacing an older file that was world-readable', async () => {
    const env = { XDG_CONFIG_HOME: home };
    await mkdir(join(home, 'rportcli'), { recursive: true, mode: 0o700 });
    await writeFile(savedLoginPath(env), '{}', { mode: 0o644 });
    const path = await saveLogin(env, { url: 'http://127.0.0.1:1', token: 'tok' });
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    expect((await stat(join(home, 'rportcli'))).mode & 0o777).to.equal(0o700);
    expect(JSON.parse(await readFile(path, 'utf8'))).to.deep.equal({
      url: 'http://127.0.0.1:1',
      token: 'tok',
    });
  });

  it('takes flags over the environment over the saved login', async () => {
    const env = { XDG_CONFIG_HOME: home, RPORT_API_URL: 'http://env:1', RPORT_API_TOKEN: 'envtok' };
    await saveLogin(env, { url: 'http://env:1', token: 'savedtok' });
    const byFlag = await resolveConnection({ url: 'http://flag:2', token: 'flagtok' }, env);
    expect(byFlag).to.include({ url: 'http://flag:2', urlSource: '--url' });
    expect(byFlag.credentials).to.deep.equal({ token: 'flagtok' });
    const byEnv = await resolveConnection({}, env);
    expect(byEnv).to.include({
      url: 'http://env:1',
      urlSource: 'RPORT_API_URL',
      credentialSource: 'RPORT_API_TOKEN',
    });
    const bySaved = await resolveConnection({}, { XDG_CONFIG_HOME: home });
    expect(bySaved.url).to.equal('http://env:1');
    expect(bySaved.credentials).to.deep.equal({ token: 'savedtok' });
  });

  it('uses RPORT_API_USER and RPORT_API_PASSWORD as basic credentials', async () => {
    const c = await resolveConnection(
      {},
      { XDG_CONFIG_HOME: home, RPORT_API_USER: 'admin', RPORT_API_PASSWORD: 'pw' },
    );
    expect(c.credentials).to.deep.equal({ username: 'admin', password: 'pw' });
  });

  it('does not send a saved token to a different server', async () => {
    await saveLogin({ XDG_CONFIG_HOME: home }, { url: 'http://a:1', token: 'tok' });
    const c = await resolveConnection({ url: 'http://b:2' }, { XDG_CONFIG_HOME: home });
    expect(c.credentials).to.equal(undefined);
  });

  it('bad input: RPORT_API_USER without RPORT_API_PASSWORD is an error naming RPORT_API_PASSWORD', async () => {
    const err = await resolveConnection({}, { XDG_CONFIG_HOME: home, RPORT_API_USER: 'admin' }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(CliError);
    expect((err as Error).message).to.contain('RPORT_API_PASSWORD');
  });

  it('uses the token `rportcli login` saved when only RPORT_API_USER is set, for that user only', async () => {
    const env = { XDG_CONFIG_HOME: home, RPORT_API_URL: 'http://a:1', RPORT_API_USER: 'admin' };
    await saveLogin(env, { url: 'http://a:1', token: 'tok', username: 'admin' });
    const same = await resolveConnection({}, env);
    expect(same.credentials).to.deep.equal({ token: 'tok' });
    const other = await resolveConnection({}, { ...env, RPORT_API_USER: 'alice' }).catch((e: unknown) => e);
    expect(other).to.be.instanceOf(CliError);
    expect((other as Error).message).to.contain('RPORT_API_PASSWORD');
  });

  it('bad input: a URL that is not http(s) is an error naming where it came from', async () => {
    const err = await resolveConnection({}, { XDG_CONFIG_HOME: home, RPORT_API_URL: 'ftp://x' }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message)
      .to.contain('RPORT_API_URL')
      .and.contain('http://');
  });

  it('bad input: a damaged saved login is an error naming the file and how to fix it', async () => {
    const env = { XDG_CONFIG_HOME: home };
    await mkdir(join(home, 'rportcli'), { recursive: true });
    await writeFile(savedLoginPath(env), 'not json');
    const err = await resolveConnection({}, env).catch((e: unknown) => e);
    expect((err as Error).message)
      .to.contain(savedLoginPath(env))
      .and.contain('rportcli login');
  });
});
