import { expect } from 'chai';
import { InMemoryAuditLog } from '../../src/adapters/memory/in-memory-audit-log.ts';
import { InMemoryClientKeys } from '../../src/adapters/memory/in-memory-client-keys.ts';
import { ManualClock } from '../../src/adapters/memory/manual-clock.ts';
import { ClientIdentity, type IdentityClaim } from '../../src/domain/client-identity.ts';

const claim = (key: string, extra: Partial<IdentityClaim> = {}): IdentityClaim => ({
  clientId: 'web-1',
  key,
  fingerprint: `SHA256:${key}`,
  proven: true,
  credentialId: 'agents',
  address: '10.0.0.7',
  online: false,
  ...extra,
});

describe('ClientIdentity: a client id belongs to the agent key that first registered it', () => {
  let keys: InMemoryClientKeys;
  let audit: InMemoryAuditLog;
  let identity: ClientIdentity;
  beforeEach(() => {
    keys = new InMemoryClientKeys();
    audit = new InMemoryAuditLog();
    identity = new ClientIdentity(keys, audit, new ManualClock(new Date('2025-03-01T00:00:00Z')));
  });

  it('the first registration binds the key, audited as key-bound; the same key is admitted again without a new entry', async () => {
    const first = await identity.admit(claim('K1'));
    expect(first).to.deep.include({ admitted: true, firstBinding: true });
    expect((await keys.keyOf('web-1'))?.boundAt).to.equal('2025-03-01T00:00:00.000Z');
    expect(await identity.admit(claim('K1'))).to.deep.include({ admitted: true, firstBinding: false });
    expect(audit.entries.map((e) => [e.application, e.action, e.client_id, e.username])).to.deep.equal([
      ['clients', 'key-bound', 'web-1', 'agents'],
    ]);
  });

  for (const online of [false, true]) {
    it(`another key for a bound id is refused and audited (the id's agent ${online ? 'online' : 'offline'})`, async () => {
      await identity.admit(claim('K1'));
      const refused = await identity.admit(claim('K2', { online }));
      expect(refused.admitted).to.equal(false);
      const message = refused.admitted ? '' : refused.message;
      expect(message).to.include('belongs to another agent key (SHA256:K1)');
      expect(message).to.include('rportcli clients release-key web-1');
      expect(audit.entries.at(-1)).to.deep.include({ application: 'clients', action: 'key-mismatch' });
      expect(audit.entries.at(-1)!.request).to.deep.equal({
        presented_key: 'SHA256:K2',
        bound_key: 'SHA256:K1',
        address: '10.0.0.7',
        online,
      });
      expect((await keys.keyOf('web-1'))?.key, 'the binding stays').to.equal('K1');
    });
  }

  it('a hello whose proof failed is refused and audited, and binds nothing', async () => {
    const refused = await identity.admit(claim('K1', { proven: false }));
    expect(refused).to.deep.include({ admitted: false, audited: true });
    expect(await keys.keyOf('web-1')).to.equal(undefined);
    expect(audit.entries.map((e) => e.action)).to.deep.equal(['hello-refused']);
  });

  it('a free id held by a live connection is not bound to a newcomer (a release never hands over a connected id)', async () => {
    const refused = await identity.admit(claim('K2', { online: true }));
    expect(refused).to.deep.include({ admitted: false, audited: false });
    expect(await keys.keyOf('web-1')).to.equal(undefined);
  });

  it('release frees the id for a new key, audited with the admin; releasing a free id is undefined', async () => {
    await identity.admit(claim('K1'));
    expect((await identity.release('web-1', 'alice'))?.key).to.equal('K1');
    expect(audit.entries.at(-1)).to.deep.include({
      action: 'key-released',
      username: 'alice',
      client_id: 'web-1',
    });
    expect(await identity.release('web-1', 'alice')).to.equal(undefined);
    expect(await identity.admit(claim('K2'))).to.deep.include({ admitted: true, firstBinding: true });
  });
});
