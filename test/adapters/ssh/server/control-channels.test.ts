import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import type ssh2 from 'ssh2';
import { connectRaw, startServer, type TestServer } from '../harness.ts';
import { helloLine, linesOf, openControl, until } from '../rogue.ts';

describe('SSH link: one control channel per connection (issue 17)', function () {
  this.timeout(20_000);
  let server: TestServer;
  const raws: ssh2.Client[] = [];

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
  });

  it('two sessions opened before the first hello cannot register two client ids, and nothing stays behind', async () => {
    const rogue = await connectRaw(server.port);
    raws.push(rogue);
    // Both requests leave before either hello: the check must hold across sessions, not per session.
    const opened = await Promise.allSettled([openControl(rogue), openControl(rogue)]);
    const controls = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(controls, 'control channels granted').to.have.length(1);
    const lines = linesOf(controls[0]);
    controls[0].write(helloLine('twin-a'));
    await until(() => lines.some((l) => l.type === 'welcome'));
    expect(server.channels.channelFor('twin-a')).to.not.equal(undefined);

    const closed = new Promise<void>((resolve) => rogue.on('close', () => resolve()));
    rogue.end();
    await closed;
    await until(() => server.channels.channelFor('twin-a') === undefined);
    expect(server.presence.clients.get('twin-a')?.connected).to.equal(false);
  });
});
