import { expect } from 'chai';
import { T } from '../../../src/composition/rportd/container.ts';
import { resolve } from '../../../src/composition/shared/typed-wiring.ts';
import type { ClientIdentity } from '../../../src/domain/client-identity.ts';
import { cli, startCliServer, type CliServer } from './harness.ts';

describe('rportcli clients release-key against a real rportd (bindings in its SQLite database)', function () {
  this.timeout(30000);
  let srv: CliServer;
  let env: Record<string, string>;
  let identity: ClientIdentity;

  before(async () => {
    srv = await startCliServer();
    env = {
      RPORT_API_URL: srv.url,
      RPORT_API_USER: srv.admin.username,
      RPORT_API_PASSWORD: srv.admin.password,
    };
    identity = resolve(srv.server.container, T.identity);
    const admitted = await identity.admit({
      clientId: 'web-1',
      key: 'a2V5LW9mLXdlYi0x',
      fingerprint: 'SHA256:web-1-key',
      proven: true,
      credentialId: 'agents',
      address: '127.0.0.1',
      online: false,
    });
    expect(admitted.admitted).to.equal(true);
  });
  after(() => srv?.close());

  it('releases the binding: exit 0, the id is free for a new key, and `clients` still lists (no subcommand)', async () => {
    const r = await cli(['clients', 'release-key', 'web-1'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('released the key of client web-1');
    expect(await identity.keyOf('web-1')).to.equal(undefined);
    const list = await cli(['clients', '--json'], env);
    expect(list.code, list.stderr).to.equal(0);
    expect(JSON.parse(list.stdout)).to.be.an('array');
  });

  it("an id bound to no key exits 2 with the server's reason", async () => {
    const r = await cli(['clients', 'release-key', 'web-1'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/client web-1 is bound to no agent key/);
  });
});
