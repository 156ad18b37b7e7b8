import { expect } from 'chai';
import type { AcceptedUpload } from '../../src/domain/accepted-upload.ts';
import { mayReadUpload } from '../../src/domain/caller.ts';
import { DispatchToClients } from '../../src/domain/dispatch-to-clients.ts';
import { success } from '../../src/domain/outcome.ts';
import { ReportProgress } from '../../src/domain/report-progress.ts';
import {
  AGENT_PROGRESS_EVERY_MS,
  pacedProgress,
  PROGRESS_MIN_SIZE,
  PROGRESS_STEPS,
  SERVER_PROGRESS_EVERY_MS,
} from '../../src/domain/transfer-progress.ts';
import type { PushProgress } from '../../src/ports/client-channel.ts';
import { InMemoryResultBroadcaster } from '../../src/adapters/memory/in-memory-result-broadcaster.ts';
import { ManualClock } from '../../src/adapters/memory/manual-clock.ts';
import { ADMIN, chunks, makeServer } from './support/server-fixture.ts';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;

const upload = (size = SIZE, requestedBy = 'alice'): AcceptedUpload => ({
  staged: { uuid: 'u-1', name: 'u-1_rport_filepush', size, md5: 'x', sha256: 'y' },
  filename: 'f',
  destination: '/srv/x',
  force: false,
  sync: false,
  ownership: {},
  targets: ['c-1'],
  requestedBy,
});

function gateOf(size = SIZE, requestedBy = 'alice') {
  const clock = new ManualClock();
  const broadcaster = new InMemoryResultBroadcaster();
  const gate = new ReportProgress(broadcaster, clock).open(upload(size, requestedBy), 'c-1');
  return { clock, broadcaster, gate, sent: () => broadcaster.progressed.map((p) => p.bytes) };
}

describe('ReportProgress: what a client says of its fetch reaches listeners, bounded', () => {
  it('passes a progress on with the upload, the client, the size and the requester (who decides visibility)', () => {
    const { gate, broadcaster } = gateOf();
    gate.report(MiB);
    expect(broadcaster.progressed).to.deep.equal([
      { uuid: 'u-1', client_id: 'c-1', bytes: MiB, size: SIZE, requestedBy: 'alice' },
    ]);
    // The same rule as outcomes: the requester and administrators may read it, another user not.
    const { requestedBy } = broadcaster.progressed[0];
    expect(mayReadUpload(ADMIN, requestedBy)).to.equal(true);
    expect(mayReadUpload({ username: 'alice', admin: false, groups: [] }, requestedBy)).to.equal(true);
    expect(mayReadUpload({ username: 'bob', admin: false, groups: [] }, requestedBy)).to.equal(false);
  });

  it(`rate: at most one per ${SERVER_PROGRESS_EVERY_MS} ms per push and client; reports in between are dropped, not queued`, async () => {
    const { gate, clock, sent } = gateOf();
    gate.report(1 * MiB);
    gate.report(2 * MiB);
    await clock.advance(SERVER_PROGRESS_EVERY_MS - 1);
    gate.report(3 * MiB);
    await clock.advance(1);
    gate.report(4 * MiB);
    await clock.advance(SERVER_PROGRESS_EVERY_MS);
    expect(sent()).to.deep.equal([1 * MiB, 4 * MiB]);
  });

  it(`step: bytes must move on by 1/${PROGRESS_STEPS} of the size; going back or standing still passes nothing`, async () => {
    const { gate, clock, sent } = gateOf();
    const step = Math.ceil(SIZE / PROGRESS_STEPS);
    for (const b of [step - 1, step, step + 1, 2 * step - 1, 2 * step, step, 2 * step]) {
      gate.report(b);
      await clock.advance(SERVER_PROGRESS_EVERY_MS);
    }
    expect(sent()).to.deep.equal([step, 2 * step]);
  });

  it('clamp: bytes beyond the size count as the size; negative, NaN and fractions are not bytes', async () => {
    const { gate, clock, sent } = gateOf();
    for (const b of [-5, Number.NaN, 2.7 * MiB, SIZE * 10, Number.POSITIVE_INFINITY, SIZE + 1]) {
      gate.report(b);
      await clock.advance(SERVER_PROGRESS_EVERY_MS);
    }
    expect(sent()).to.deep.equal([Math.floor(2.7 * MiB), SIZE]);
  });

  it(`a flood of values over twenty virtual minutes gives at most ${PROGRESS_STEPS} messages, rising, never above the size`, async () => {
    const { gate, clock, sent } = gateOf();
    for (let i = 0; i < 20_000; i++) {
      gate.report((i * 7919) % (SIZE * 2));
      if (i % 3 === 0) await clock.advance(200);
    }
    const got = sent();
    expect(got.length).to.be.within(1, PROGRESS_STEPS);
    expect(got.every((b, i) => b <= SIZE && (i === 0 || b > got[i - 1]))).to.equal(true);
  });

  it(`a file of at most ${PROGRESS_MIN_SIZE} bytes reports no progress at all`, () => {
    const { gate, sent } = gateOf(PROGRESS_MIN_SIZE);
    gate.report(PROGRESS_MIN_SIZE);
    expect(sent()).to.deep.equal([]);
    const bigger = gateOf(PROGRESS_MIN_SIZE + 1);
    bigger.gate.report(PROGRESS_MIN_SIZE + 1);
    expect(bigger.sent()).to.deep.equal([PROGRESS_MIN_SIZE + 1]);
  });

  it('a closed gate (the push is over) passes nothing', () => {
    const { gate, sent } = gateOf();
    gate.close();
    gate.report(MiB);
    expect(sent()).to.deep.equal([]);
  });
});

describe('DispatchToClients with ReportProgress: progress only while the push to that client is live', () => {
  it('progress reported during the push arrives before its outcome; a report after the push is over is ignored', async () => {
    const s = makeServer({ maxBytes: 4 * MiB });
    const dispatch = new DispatchToClients(
      s.channels,
      s.transfers,
      s.staging,
      s.report,
      s.clock,
      s.logger,
      { concurrency: 4, timeoutMs: 30_000 },
      undefined,
      new ReportProgress(s.broadcaster, s.clock),
    );
    const staged = await s.staging.stage('u-9', chunks(new Uint8Array(3 * MiB)), 4 * MiB);
    await s.results.begin(staged.uuid, ['c-1', 'c-2']);
    let lateReport: ((p: PushProgress) => void) | undefined;
    const progressAtOutcome: number[] = [];
    s.broadcaster.subscribe(() => progressAtOutcome.push(s.broadcaster.progressed.length));
    s.channels.connect('c-1', {
      push: async (_req, signal, onProgress) => {
        for (const bytes of [MiB, 2 * MiB, 3 * MiB]) {
          onProgress?.({ bytes });
          await s.clock.sleep(AGENT_PROGRESS_EVERY_MS, signal);
        }
        lateReport = onProgress;
        return success('placed');
      },
    });
    // c-2 sends nothing: a small file's agent, or an older one.
    s.channels.connect('c-2', { push: async () => success('placed') });
    const u: AcceptedUpload = {
      staged,
      filename: 'f',
      destination: '/srv/x',
      force: false,
      sync: false,
      ownership: {},
      targets: ['c-1', 'c-2'],
      requestedBy: 'alice',
    };
    await s.clock.run(dispatch.execute(u));
    expect(s.broadcaster.progressed.map((p) => [p.client_id, p.bytes, p.size, p.requestedBy])).to.deep.equal([
      ['c-1', MiB, 3 * MiB, 'alice'],
      ['c-1', 2 * MiB, 3 * MiB, 'alice'],
      ['c-1', 3 * MiB, 3 * MiB, 'alice'],
    ]);
    lateReport!({ bytes: 3 * MiB });
    expect(s.broadcaster.progressed).to.have.length(3);
    // c-2's outcome came first (no progress yet is fine); c-1's came after its three progress messages.
    expect(s.broadcaster.published.map((o) => o.client_id)).to.deep.equal(['c-2', 'c-1']);
    expect(progressAtOutcome[1]).to.equal(3);
  });

  it('without ReportProgress (as before), a client that reports progress changes nothing', async () => {
    const s = makeServer({ maxBytes: 4 * MiB });
    const staged = await s.staging.stage('u-8', chunks(new Uint8Array(2 * MiB)), 4 * MiB);
    await s.results.begin(staged.uuid, ['c-1']);
    let given: unknown = 'not called';
    s.channels.connect('c-1', {
      push: async (_req, _signal, onProgress) => {
        given = onProgress;
        return success('placed');
      },
    });
    await s.clock.run(
      s.dispatch.execute({
        staged,
        filename: 'f',
        destination: '/srv/x',
        force: false,
        sync: false,
        ownership: {},
        targets: ['c-1'],
        requestedBy: 'alice',
      }),
    );
    expect(given).to.equal(undefined);
    expect(s.broadcaster.published).to.have.length(1);
  });
});

describe('pacedProgress: the agent reports at most about once a second, only for files over 1 MiB', () => {
  it(`sends the first line ${AGENT_PROGRESS_EVERY_MS} ms into the push, then at most one per ${AGENT_PROGRESS_EVERY_MS} ms`, () => {
    let now = 0;
    const sent: number[] = [];
    const onProgress = pacedProgress(
      SIZE,
      () => now,
      (b) => sent.push(b),
    );
    for (let t = 0; t <= 3500; t += 100) {
      now = t;
      onProgress(t * 1000);
    }
    expect(sent).to.deep.equal([1_000_000, 2_000_000, 3_000_000]);
  });

  it('a file of 1 MiB or less never sends one, however long it takes', () => {
    let now = 0;
    const sent: number[] = [];
    const onProgress = pacedProgress(
      PROGRESS_MIN_SIZE,
      () => now,
      (b) => sent.push(b),
    );
    for (let t = 0; t <= 10_000; t += 500) {
      now = t;
      onProgress(t);
    }
    expect(sent).to.deep.equal([]);
  });
});
