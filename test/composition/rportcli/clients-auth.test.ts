import { expect } from 'chai';
import { T } from '../../../src/composition/rportd/container.ts';
import type { ClientCredentials } from '../../../src/ports/client-credentials.ts';
import { cli, startCliServer, type CliServer } from './harness.ts';

describe('rportcli clients-auth against a real rportd (credentials in its SQLite database)', function () {
  this.timeout(30000);
  let srv: CliServer;
  let env: Record<string, string>;
  let credentials: ClientCredentials;

  before(async () => {
    srv = await startCliServer();
    env = {
      RPORT_API_URL: srv.url,
      RPORT_API_USER: srv.admin.username,
      RPORT_API_PASSWORD: srv.admin.password,
    };
    credentials = srv.server.container.get<ClientCredentials>(T.credentials);
  });
  after(() => srv?.close());

  it('add without --password makes a random password, prints it once with the rport.conf line, and the server accepts it', async () => {
    const r = await cli(['clients-auth', 'add', 'web-servers'], env);
    expect(r.code, r.stderr).to.equal(0);
    const password = /its password \(shown only now\): (\S+)/.exec(r.stdout)?.[1];
    expect(password, r.stdout).to.be.a('string').with.length.of.at.least(12);
    expect(r.stdout).to.contain(`auth = "web-servers:${password}"`);
    expect(await credentials.verify('web-servers', password!)).to.equal(true);
  });

  it('add with --password uses it and never prints it; list shows both ids (--json too)', async () => {
    const r = await cli(['clients-auth', 'add', 'db-servers', '--password', 'chosen-password-123'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).not.to.contain('chosen-password-123');
    expect(await credentials.verify('db-servers', 'chosen-password-123')).to.equal(true);
    const list = await cli(['clients-auth', 'list'], env);
    expect(list.stdout).to.match(/ID[\s\S]*db-servers[\s\S]*web-servers/);
    const json = await cli(['clients-auth', 'list', '--json'], env);
    expect(JSON.parse(json.stdout)).to.deep.equal({ ids: ['db-servers', 'web-servers'], source: 'database' });
  });

  it("bad input: an existing id, a short password or an unknown id to delete exit 2 with the server's reason, and change nothing", async () => {
    const again = await cli(['clients-auth', 'add', 'db-servers', '--password', 'another-password-456'], env);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.match(/exists already/);
    expect(await credentials.verify('db-servers', 'chosen-password-123')).to.equal(true);
    const short = await cli(['clients-auth', 'add', 'short', '--password', 'tiny'], env);
    expect(short.code).to.equal(2);
    expect(short.stderr).to.match(/password/);
    const unknown = await cli(['clients-auth', 'delete', 'nobody'], env);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/no client credential "nobody"/);
  });

  it('delete removes a credential: the server refuses it from then on', async () => {
    const r = await cli(['clients-auth', 'delete', 'db-servers'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('removed client credential db-servers');
    expect(await credentials.verify('db-servers', 'chosen-password-123')).to.equal(false);
    const list = await cli(['clients-auth', 'list', '--json'], env);
    expect((JSON.parse(list.stdout) as { ids: string[] }).ids).to.deep.equal(['web-servers']);
  });
});
