import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { fingerprintOf, generateParsableKey } from '../../../../src/adapters/ssh/host-key.ts';
import { CONTROL_SUBSYSTEM, LEGACY_CONTROL_SUBSYSTEM } from '../../../../src/adapters/ssh/protocol.ts';
import { testIdentity } from '../fakes.ts';
import { connectRaw, startAgent, startServer, type TestAgent, type TestServer } from '../harness.ts';
import { challengeIn, helloAs, helloLine, linesOf, openControl, ROGUE_KEY, until } from '../rogue.ts';

const subsys = (c: ssh2.Client, name: string): Promise<ssh2.ClientChannel> =>
  new Promise((resolve, reject) => c.subsys(name, (e, ch) => (e ? reject(e) : resolve(ch))));

describe('SSH link: a client id belongs to its agent key (issue 17 item 5)', function () {
  this.timeout(30_000);
  let server: TestServer;
  const agents: TestAgent[] = [];
  const raws: ssh2.Client[] = [];

  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    for (const a of agents.splice(0)) await a.stop();
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
  });

  const rogue = async (): Promise<ssh2.Client> => {
    const c = await connectRaw(server.port);
    raws.push(c);
    return c;
  };
  const audited = (action: string) => server.audit.entries.filter((e) => e.action === action);

  it("an impostor with the right password and another key is refused and audited while the id's agent is online, and changes nothing", async () => {
    const agent = await startAgent(server, 'web-1');
    agents.push(agent);
    expect(audited('key-bound').map((e) => e.client_id)).to.deep.equal(['web-1']);
    const { refused } = await helloAs(await rogue(), 'web-1');
    expect(refused).to.include('client id web-1 belongs to another agent key');
    expect(refused).to.include('rportcli clients release-key web-1');
    expect(audited('key-mismatch')).to.have.length(1);
    expect(audited('key-mismatch')[0]).to.deep.include({ client_id: 'web-1', username: 'agents' });
    expect(audited('key-mismatch')[0].request).to.deep.include({ online: true, address: '127.0.0.1' });
    expect(server.presence.clients.get('web-1')).to.deep.include({ hostname: 'host-web-1', connected: true });
    // The real agent still gets its pushes.
    const [outcome] = await server.push(Buffer.from('for the real one'), ['web-1'], '/srv/x');
    expect(outcome.status).to.equal('success');
  });

  it('…and while it is offline: refused, audited, the stored facts kept, and a push to the id fails as offline', async () => {
    const agent = await startAgent(server, 'web-2');
    await agent.connection.stop();
    await until(() => server.presence.clients.get('web-2')?.connected === false);
    const { refused } = await helloAs(await rogue(), 'web-2');
    expect(refused).to.include('client id web-2 belongs to another agent key');
    expect(audited('key-mismatch')[0].request).to.deep.include({ online: false });
    expect(server.presence.clients.get('web-2')).to.deep.include({
      hostname: 'host-web-2',
      connected: false,
    });
    expect(server.channels.channelFor('web-2')).to.equal(undefined);
    const [outcome] = await server.push(Buffer.from('secret'), ['web-2'], '/srv/x');
    expect(outcome.status).to.equal('error');
    await rm(agent.dataDir, { recursive: true, force: true });
  });

  it('a hello replayed from another connection fails its proof: refused, audited, nothing bound', async () => {
    const identity = testIdentity();
    const first = await rogue();
    const firstLines = linesOf(await openControl(first));
    const seen = helloLine('replayed', await challengeIn(firstLines), identity);
    first.end();
    const second = await rogue();
    const control = await openControl(second);
    const lines = linesOf(control);
    await challengeIn(lines);
    control.write(seen);
    await until(() => lines.some((l) => l.type === 'error'));
    expect(String(lines.find((l) => l.type === 'error')!.message)).to.include(
      'hello.proof does not verify with hello.key',
    );
    expect(audited('hello-refused').map((e) => e.client_id)).to.deep.equal(['replayed']);
    expect(await server.keys.keyOf('replayed')).to.equal(undefined);
    expect(server.presence.clients.has('replayed')).to.equal(false);
  });

  it('after an admin releases the binding, a new key binds (a reinstalled host)', async () => {
    const old = await startAgent(server, 'web-3');
    await old.stop();
    await until(() => server.presence.clients.get('web-3')?.connected === false);
    const before = await server.keys.keyOf('web-3');
    expect((await helloAs(await rogue(), 'web-3')).refused).to.not.equal(undefined);
    expect((await server.identity.release('web-3', 'admin'))?.key).to.equal(before!.key);
    const reinstalled = await helloAs(await rogue(), 'web-3');
    expect(reinstalled.refused).to.equal(undefined);
    expect(reinstalled.lines.some((l) => l.type === 'welcome')).to.equal(true);
    expect((await server.keys.keyOf('web-3'))?.key).to.equal(ROGUE_KEY.publicKey);
    expect(audited('key-released')).to.have.length(1);
  });

  it('an agent of protocol 1 gets an error naming what to upgrade, on its own subsystem and on the new one', async () => {
    const legacy = await subsys(await rogue(), LEGACY_CONTROL_SUBSYSTEM);
    const legacyLines = linesOf(legacy);
    legacy.write(JSON.stringify({ type: 'hello', protocol: 1, id: 'old-agent' }) + '\n');
    await until(() => legacyLines.length > 0);
    expect(legacyLines[0].type).to.equal('error');
    expect(String(legacyLines[0].message)).to.match(
      /protocol 1\) is no longer accepted.*upgrade the agent \(rport\)/,
    );

    const control = await subsys(await rogue(), CONTROL_SUBSYSTEM);
    const lines = linesOf(control);
    await challengeIn(lines);
    control.write(JSON.stringify({ type: 'hello', protocol: 1, id: 'old-agent' }) + '\n');
    await until(() => lines.some((l) => l.type === 'error'));
    expect(String(lines.find((l) => l.type === 'error')!.message)).to.match(
      /hello.protocol 1 is no longer accepted.*upgrade the agent \(rport\)/,
    );
    expect(server.presence.clients.has('old-agent')).to.equal(false);
  });
});

describe('SSH link: an agent of protocol 2 meeting an rportd of protocol 1', function () {
  this.timeout(20_000);
  it('says that rportd must be upgraded', async () => {
    // An ssh2 server that, like rportd of protocol 1, lets the agent in and knows only rport-control@v1.
    const hostKey = generateParsableKey();
    const parsed = ssh2.utils.parseKey(hostKey) as ssh2.ParsedKey;
    const old = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
      client.on('authentication', (ctx) => ctx.accept());
      client.on('session', (accept) =>
        accept().on('subsystem', (ok, reject, info) =>
          info.name === LEGACY_CONTROL_SUBSYSTEM ? ok() : reject(),
        ),
      );
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    const port = (old.address() as AddressInfo).port;
    const agent = await startAgent({ port, fingerprint: fingerprintOf(parsed.getPublicSSH()) }, 'new-agent', {
      wait: false,
    });
    try {
      await until(() => agent.failures.length > 0);
      const f = agent.failures.find((e) => /control subsystem/.test(e.message));
      expect(f?.message, agent.failures.map((e) => e.message).join('; ')).to.match(
        /refused the control subsystem rport-control@v2.*older than control protocol 2.*upgrade rportd/,
      );
    } finally {
      await agent.stop();
      old.close();
    }
  });
});
