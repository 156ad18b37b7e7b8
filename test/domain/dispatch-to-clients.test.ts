import { expect } from 'chai';
import type { AcceptedUpload } from '../../src/domain/accepted-upload.ts';
import { success, type PushVerdict } from '../../src/domain/outcome.ts';
import { stagedName } from '../../src/domain/push-request.ts';
import type { ClientChannel } from '../../src/ports/client-channel.ts';
import { InMemoryClientChannel } from '../../src/adapters/memory/in-memory-client-channels.ts';
import { ADMIN, chunks, client, form, makeServer } from './support/server-fixture.ts';

const OK = success('file successfully copied to destination');

async function staged(s: ReturnType<typeof makeServer>, targets: string[]): Promise<AcceptedUpload> {
  const file = await s.staging.stage('u-1', chunks('payload'), 100);
  await s.results.begin(file.uuid, targets);
  return {
    staged: file,
    filename: 'f',
    destination: '/srv/x',
    force: false,
    sync: false,
    ownership: {},
    targets,
    requestedBy: 'admin',
  };
}

/** A channel that answers after a virtual delay, counting how many pushes are in flight at once. */
function delayed(
  s: ReturnType<typeof makeServer>,
  ms: number,
  gauge: { now: number; max: number },
  verdict: PushVerdict = OK,
): ClientChannel {
  return {
    push: async (_req, signal) => {
      gauge.now++;
      gauge.max = Math.max(gauge.max, gauge.now);
      try {
        await s.clock.sleep(ms, signal);
        return verdict;
      } finally {
        gauge.now--;
      }
    },
  };
}

describe('DispatchToClients', () => {
  it('an offline client gets an error outcome at once, without waiting for the timeout', async () => {
    const s = makeServer({ dispatch: { timeoutMs: 60_000 } });
    const upload = await staged(s, ['offline']);
    await s.clock.run(s.dispatch.execute(upload), 0);
    const [o] = s.results.outcomes('u-1');
    expect(o).to.include({ client_id: 'offline', status: 'error', filepath: '', size: 0 });
    expect(o.message).to.contain('not connected');
  });

  it('a client silent past its timeout gets an error outcome, never a hang', async () => {
    const s = makeServer({ dispatch: { timeoutMs: 5_000 } });
    s.channels.connect(
      'mute',
      new InMemoryClientChannel({ execute: async () => OK }, undefined, { faults: { silent: true } }),
    );
    const upload = await staged(s, ['mute']);
    const start = s.clock.now().getTime();
    await s.clock.run(s.dispatch.execute(upload));
    const [o] = s.results.outcomes('u-1');
    expect(o.status).to.equal('error');
    expect(o.message).to.contain('did not answer within 5 s');
    expect(s.clock.now().getTime() - start).to.equal(5_000);
    expect(s.clock.pendingTimers).to.equal(0);
  });

  it('a timeout under a second is named in milliseconds, not as "0 s"', async () => {
    const s = makeServer({ dispatch: { timeoutMs: 250 } });
    s.channels.connect(
      'mute',
      new InMemoryClientChannel({ execute: async () => OK }, undefined, { faults: { silent: true } }),
    );
    const upload = await staged(s, ['mute']);
    await s.clock.run(s.dispatch.execute(upload));
    const [o] = s.results.outcomes('u-1');
    expect(o.status).to.equal('error');
    expect(o.message).to.contain('did not answer within 250 ms');
  });

  it('a client lost during the push gets an error outcome naming the loss', async () => {
    const s = makeServer();
    s.channels.connect('c1', {
      push: async () => {
        throw new Error('connection reset');
      },
    });
    const upload = await staged(s, ['c1']);
    await s.dispatch.execute(upload);
    expect(s.results.outcomes('u-1')[0].message).to.contain('was lost during the push: connection reset');
  });

  it('concurrency is bounded: simultaneous pushes never exceed the setting', async () => {
    const s = makeServer({ dispatch: { concurrency: 3 } });
    const gauge = { now: 0, max: 0 };
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    ids.forEach((id, i) => s.channels.connect(id, delayed(s, 10 + (i % 4) * 7, gauge)));
    await s.clock.run(s.dispatch.execute(await staged(s, ids)));
    expect(gauge.max).to.equal(3);
    expect(s.results.outcomes('u-1')).to.have.length(20);
  });

  it('with concurrency 1 the clients are pushed to one at a time', async () => {
    const s = makeServer({ dispatch: { concurrency: 1 } });
    const gauge = { now: 0, max: 0 };
    for (const id of ['a', 'b', 'c']) s.channels.connect(id, delayed(s, 10, gauge));
    await s.clock.run(s.dispatch.execute(await staged(s, ['a', 'b', 'c'])));
    expect(gauge.max).to.equal(1);
  });

  it('the staged file stays while clients fetch and is removed after the last target answers', async () => {
    const s = makeServer({ dispatch: { concurrency: 2 } });
    const seenStaged: boolean[] = [];
    const gauge = { now: 0, max: 0 };
    for (const id of ['a', 'b', 'c']) {
      const inner = delayed(s, id === 'c' ? 50 : 10, gauge);
      s.channels.connect(id, {
        push: (r, sig) => (
          seenStaged.push(s.staging.names().includes(stagedName('u-1'))),
          inner.push(r, sig)
        ),
      });
    }
    const done = s.dispatch.execute(await staged(s, ['a', 'b', 'c']));
    await s.clock.advance(20);
    expect(s.staging.names()).to.deep.equal([stagedName('u-1')]);
    await s.clock.run(done);
    expect(seenStaged).to.deep.equal([true, true, true]);
    expect(s.staging.names()).to.deep.equal([]);
  });

  it('the staged file is removed after the last target times out', async () => {
    const s = makeServer({ dispatch: { timeoutMs: 1000 } });
    s.channels.connect('mute', { push: () => new Promise<PushVerdict>(() => undefined) });
    await s.clock.run(s.dispatch.execute(await staged(s, ['mute'])));
    expect(s.staging.names()).to.deep.equal([]);
  });

  it('the client may fetch the staged file only while its push is live', async () => {
    const s = makeServer();
    const during: boolean[] = [];
    s.channels.connect('c1', {
      push: async (req) => (during.push(s.transfers.isAllowed('c1', req.sourceName)), OK),
    });
    await s.dispatch.execute(await staged(s, ['c1']));
    expect(during).to.deep.equal([true]);
    expect(s.transfers.isAllowed('c1', stagedName('u-1'))).to.equal(false);
    expect(s.transfers.size).to.equal(0);
  });

  it('a success outcome carries the destination and size; others carry neither', async () => {
    const s = makeServer();
    s.channels.connect('a', { push: async () => OK });
    s.channels.connect('b', { push: async () => ({ status: 'ignored', message: 'exists' }) });
    await s.dispatch.execute(await staged(s, ['a', 'b']));
    const [a, b] = s.results.outcomes('u-1');
    expect(a).to.include({ filepath: '/srv/x', size: 7, status: 'success' });
    expect(b).to.include({ filepath: '', size: 0, status: 'ignored' });
  });

  it('a failure to record one outcome is logged and the others are still recorded', async () => {
    const s = makeServer();
    for (const id of ['a', 'b']) s.channels.connect(id, { push: async () => OK });
    const upload = await staged(s, ['a', 'b']);
    const original = s.audit.record.bind(s.audit);
    let calls = 0;
    s.audit.record = async (e) => {
      if (++calls === 1) throw new Error('disk full');
      return original(e);
    };
    await s.dispatch.execute(upload);
    expect(s.logger.lines.filter((l) => l.level === 'error').map((l) => l.fields.err)).to.deep.equal([
      'disk full',
    ]);
    expect(s.results.outcomes('u-1')).to.have.length(2);
    expect(s.staging.names()).to.deep.equal([]);
  });

  it('through AcceptUpload, a push to an offline and an online client reports both, each once', async () => {
    const s = makeServer({ clients: [client('on'), client('off', { connected: false })] });
    s.channels.connect('on', { push: async () => OK });
    const r = await s.accept.execute(
      ADMIN,
      form(['client_id', 'on'], ['client_id', 'off'], ['dest', '/srv/x'], { file: 'abc' }),
    );
    if (!r.ok) throw new Error('rejected');
    await r.distributed;
    expect(s.broadcaster.published.map((o) => [o.client_id, o.status]).sort()).to.deep.equal([
      ['off', 'error'],
      ['on', 'success'],
    ]);
  });
});
