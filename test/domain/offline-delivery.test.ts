import { expect } from 'chai';
import { RESTARTED_MESSAGE } from '../../src/domain/end-stranded-pushes.ts';
import { stagedName } from '../../src/domain/push-request.ts';
import { ADMIN, form } from './support/server-fixture.ts';
import { dropsOnce, makeOfflineServer, persisted, PLACED, scripted } from './support/offline-fixture.ts';

type Server = ReturnType<typeof makeOfflineServer>;

/** An upload of "payload" to the given clients, its first round driven to its end. */
async function push(s: Server, targets: string[], offlineTtl?: string): Promise<string> {
  const fields: [string, string][] = [
    ...targets.map((id): [string, string] => ['client_id', id]),
    ['dest', '/srv/app.conf'],
    ...(offlineTtl === undefined ? [] : [['offline_ttl', offlineTtl] as [string, string]]),
  ];
  const accepted = await s.accept.execute(ADMIN, form(...fields, { file: 'payload' }));
  if (!accepted.ok) throw new Error(accepted.rejection.detail);
  await s.clock.run(accepted.distributed);
  return accepted.upload.staged.uuid;
}

const outcomeOf = (s: Server, uuid: string, id: string) =>
  s.results.outcomes(uuid).find((o) => o.client_id === id);

describe('offline delivery: a target whose client is away waits for it (offline_ttl)', () => {
  let s: Server;
  afterEach(() => s.close());

  it('without offline_ttl (and [server] offline_ttl 0) an offline client gets its error at once, as before', async () => {
    s = makeOfflineServer();
    s.channels.connect(
      'c1',
      scripted(async () => PLACED),
    );
    const uuid = await push(s, ['c1', 'c2']);
    expect(outcomeOf(s, uuid, 'c1')?.status).to.equal('success');
    expect(outcomeOf(s, uuid, 'c2')).to.include({ status: 'error', message: 'client c2 is not connected' });
    expect(await s.queue.all()).to.deep.equal([]);
    expect(s.staging.names()).to.deep.equal([]);
  });

  it('[server] offline_ttl is the default when the push names none', async () => {
    s = makeOfflineServer({ dispatch: { offlineTtl: 60 } });
    const uuid = await push(s, ['c2']);
    expect(s.results.pending(uuid)).to.deep.equal(['c2']);
    expect((await s.queue.all()).map((t) => t.expires_at.getTime() - s.clock.now().getTime())).to.deep.equal([
      60_000,
    ]);
  });

  it('an offline target stays pending with a "queued" message, holds the staged file, and is pushed when its client connects', async () => {
    s = makeOfflineServer();
    s.channels.connect(
      'c1',
      scripted(async () => PLACED),
    );
    const uuid = await push(s, ['c1', 'c2', 'c3'], '600');
    expect(outcomeOf(s, uuid, 'c1')?.status).to.equal('success');
    expect(s.results.pending(uuid)).to.deep.equal(['c2', 'c3']);
    expect(s.results.noteOf(uuid, 'c2')).to.match(
      /^queued: client c2 is not connected; it is pushed when the client connects, until /,
    );
    expect(s.staging.names(), 'kept for the queued targets').to.deep.equal([stagedName(uuid)]);
    expect(
      s.broadcaster.published.map((o) => o.client_id),
      'a queued target is not an outcome',
    ).to.deep.equal(['c1']);

    const c2 = scripted(async () => PLACED);
    await s.connect('c2', c2);
    await s.clock.run(
      (async () => {
        while (s.results.pending(uuid).includes('c2')) await s.clock.sleep(10);
      })(),
    );
    expect(c2.pushes).to.equal(1);
    expect(outcomeOf(s, uuid, 'c2')).to.include({ status: 'success', filepath: '/srv/app.conf', size: 7 });
    expect(s.staging.names(), 'c3 still waits').to.deep.equal([stagedName(uuid)]);

    await s.connect(
      'c3',
      scripted(async () => PLACED),
    );
    await s.drained(uuid);
    expect(outcomeOf(s, uuid, 'c3')?.status).to.equal('success');
    expect(s.staging.names(), 'the last queued target ended: the file goes').to.deep.equal([]);
    // One outcome per target: stored, broadcast and audited once each.
    expect(s.broadcaster.published.map((o) => o.client_id).sort()).to.deep.equal(['c1', 'c2', 'c3']);
    expect(
      s.audit.entries.filter((e) => e.client_id).map((e) => [e.client_id, e.action]),
    ).to.have.deep.members([
      ['c1', 'success'],
      ['c2', 'success'],
      ['c3', 'success'],
    ]);
  });

  it('a client that drops during its transfer is queued, and pushed again when it reconnects', async () => {
    s = makeOfflineServer();
    const c1 = dropsOnce(() => s.channels.disconnect('c1'));
    s.channels.connect('c1', c1);
    const uuid = await push(s, ['c1'], '600');
    expect(s.results.pending(uuid)).to.deep.equal(['c1']);
    expect(s.results.noteOf(uuid, 'c1')).to.contain('was lost during the push');
    await s.connect('c1', c1);
    await s.drained(uuid);
    expect(c1.pushes).to.equal(2);
    expect(outcomeOf(s, uuid, 'c1')?.status).to.equal('success');
  });

  it('a client that drops again on reconnect stays queued, and the next connect serves it', async () => {
    s = makeOfflineServer();
    let drops = 2;
    const c1 = scripted(async () => {
      if (drops-- > 0) {
        s.channels.disconnect('c1');
        throw new Error('ECONNRESET');
      }
      return PLACED;
    });
    s.channels.connect('c1', c1);
    const uuid = await push(s, ['c1'], '600');
    s.channels.connect('c1', c1);
    await s.clock.run(s.offline.serve('c1'));
    s.channels.connect('c1', c1);
    expect(s.results.pending(uuid)).to.deep.equal(['c1']);
    expect(await s.queue.all()).to.have.length(1);
    expect(await s.clock.run(s.offline.serve('c1'))).to.equal(1);
    expect(outcomeOf(s, uuid, 'c1')?.status).to.equal('success');
    expect(c1.pushes).to.equal(3);
  });

  it('when the time is over the target ends with "did not connect within", and a later connect pushes nothing', async () => {
    s = makeOfflineServer();
    const uuid = await push(s, ['c2'], '600');
    await s.drained(uuid);
    expect(outcomeOf(s, uuid, 'c2')).to.include({
      status: 'error',
      message: 'client c2 did not connect within 600 s (offline_ttl); the file was not pushed to it',
    });
    expect(s.staging.names()).to.deep.equal([]);
    const late = scripted(async () => PLACED);
    s.channels.connect('c2', late);
    expect(await s.clock.run(s.offline.serve('c2'))).to.equal(0);
    expect(late.pushes).to.equal(0);
  });

  it('a client that connects while its target is being queued is served at once', async () => {
    s = makeOfflineServer();
    const c1 = scripted(async () => {
      if (c1.pushes > 1) return PLACED;
      // Lost, and back before the target is queued: its announce finds nothing in the queue.
      throw new Error('ECONNRESET');
    });
    s.channels.connect('c1', c1);
    const uuid = await push(s, ['c1'], '600');
    await s.drained(uuid);
    expect(c1.pushes).to.equal(2);
    expect(outcomeOf(s, uuid, 'c1')?.status).to.equal('success');
  });

  it('two connects at once push a queued target once', async () => {
    s = makeOfflineServer();
    const c1 = scripted(() => s.clock.sleep(500).then(() => PLACED));
    const uuid = await push(s, ['c1'], '600');
    s.channels.connect('c1', c1);
    const both = Promise.all([s.offline.serve('c1'), s.offline.serve('c1')]);
    expect(await s.clock.run(both)).to.have.members([0, 1]);
    expect(c1.pushes).to.equal(1);
    expect(s.results.outcomes(uuid)).to.have.length(1);
  });
});

describe('offline delivery across a restart of rportd', () => {
  it('queued targets stay queued and are served after the restart; in-flight ones end with the restart message', async () => {
    const stores = persisted();
    const before = makeOfflineServer({ stores });
    const hang = scripted(() => new Promise(() => undefined));
    before.channels.connect('c1', hang);
    const accepted = await before.accept.execute(
      ADMIN,
      form(['client_id', 'c1'], ['client_id', 'c2'], ['dest', '/srv/a'], ['offline_ttl', '600'], {
        file: 'payload',
      }),
    );
    if (!accepted.ok) throw new Error(accepted.rejection.detail);
    const uuid = accepted.upload.staged.uuid;
    // c2 is queued; c1's push hangs: rportd "dies" with both pending.
    await before.clock.run(
      (async () => {
        while ((await stores.queue.all()).length === 0) await stores.clock.sleep(10);
      })(),
    );
    before.close();

    const after = makeOfflineServer({ stores });
    const ended = await after.endStranded.execute();
    expect(ended).to.deep.equal({ uploads: [uuid], targets: 1 });
    expect(await after.offline.resume()).to.deep.equal({ queued: 1, expired: 0 });
    expect([...(await after.retention.resume())]).to.deep.equal([uuid]);
    expect(outcomeOf(after, uuid, 'c1')).to.include({ status: 'error', message: RESTARTED_MESSAGE });
    expect(after.staging.names(), 'kept for the queued target').to.deep.equal([stagedName(uuid)]);

    await after.connect(
      'c2',
      scripted(async () => PLACED),
    );
    await after.drained(uuid);
    expect(outcomeOf(after, uuid, 'c2')?.status).to.equal('success');
    expect(after.staging.names()).to.deep.equal([]);
    after.close();
  });

  it('a target whose time ended while rportd was down ends at start with "did not connect within"', async () => {
    const stores = persisted();
    const before = makeOfflineServer({ stores });
    const uuid = await push(before, ['c2'], '60');
    before.close();
    await stores.clock.advance(120_000);
    const after = makeOfflineServer({ stores });
    expect((await after.endStranded.execute()).targets).to.equal(0);
    expect(await after.offline.resume()).to.deep.equal({ queued: 0, expired: 1 });
    expect(outcomeOf(after, uuid, 'c2')?.message).to.contain('did not connect within 60 s');
    expect(after.staging.names()).to.deep.equal([]);
    after.close();
  });
});
