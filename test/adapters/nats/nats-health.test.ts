import { expect } from 'chai';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsHealth } from '../../../src/adapters/nats/nats-health.ts';
import type { MessageBusState } from '../../../src/ports/message-bus-health.ts';
import { NatsServerProcess, natsServerOrSkip } from '../../support/nats-server.ts';
import { eventually } from '../http/http-harness.ts';
import { reconnected } from './nats-fixture.ts';

describe('NatsHealth (a real nats-server stopped and started again)', function () {
  this.timeout(60_000);
  let server: NatsServerProcess;
  let nc: NatsConnection | undefined;
  before(async function () {
    server = await NatsServerProcess.start(await natsServerOrSkip(this, 'the NATS health tests'));
  });
  after(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('reports the outage once as it starts and once as it ends, and answers ok again', async () => {
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    const changes: MessageBusState[] = [];
    const health = new NatsHealth(nc, { intervalMs: 0, onChange: (s) => changes.push(s) });
    expect(await health.check()).to.deep.equal({ ok: true });
    expect(health.connected).to.equal(true);

    await server.stop();
    const down = await eventually(
      async () => {
        const s = await health.check();
        return s.ok ? undefined : s;
      },
      'the outage',
      1200,
    );
    expect(down.detail).to.match(/connection to .* was lost|no answer to a PING/);
    // Asked many times while down, it still says so once.
    for (let i = 0; i < 5; i++) expect((await health.check()).ok).to.equal(false);

    const back = reconnected(nc);
    await server.resume();
    await back;
    expect(
      await eventually(async () => ((await health.check()).ok ? true : undefined), 'the return', 1200),
    ).to.equal(true);
    expect(health.connected).to.equal(true);
    expect(changes.map((c) => c.ok)).to.deep.equal([false, true]);
    health.stop();
  });
});
