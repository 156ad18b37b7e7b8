import { expect } from 'chai';
import { stat } from 'node:fs/promises';
import { Cluster } from './helpers/cluster.ts';
import type { Outcome } from './helpers/outcome-listener.ts';

// "plain" runs with the defaults; "special" with [file-reception] allow_special_bits = true.
const AGENTS = [{ id: 'chg-plain' }, { id: 'chg-special', fileReception: ['allow_special_bits = true'] }];
const ALL = AGENTS.map((a) => a.id);

interface Seen {
  status: string;
  changed: boolean;
  message: string;
}

describe('e2e: changed and special mode bits through rportd and two rport agents as processes', function () {
  this.timeout(60_000);
  let c: Cluster;
  before(async () => (c = await Cluster.start({ agents: AGENTS })));
  after(() => c?.stop());

  /** One upload to both agents: the outcomes as broadcast, checked against GET /api/v1/files/:uuid. */
  async function push(rel: string, content: string, more: [string, string][] = []): Promise<Seen[]> {
    const listener = await c.listen();
    try {
      const fields: [string, string][] = [...ALL.map((id): [string, string] => ['client_id', id])];
      fields.push(['dest', c.dest(rel)], ...more);
      const res = await c.upload({ name: 'upload', filename: 'f', content: Buffer.from(content) }, fields);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const uuid = (res.body.data as { uuid: string }).uuid;
      const live = await listener.outcomesOf(uuid, ALL.length);
      const stored = await c.api('GET', `/api/v1/files/${uuid}`);
      const targets = (stored.body!.data as { targets: (Outcome & { changed: unknown })[] }).targets;
      const pick = (o: Outcome): Seen => ({ status: o.status, changed: o.changed, message: o.message });
      expect(targets.map(pick), 'stored as broadcast').to.deep.equal(live.map(pick));
      return live.map(pick);
    } finally {
      listener.close();
    }
  }

  const summary = (seen: Seen[]) => seen.map((s) => [s.status, s.changed]);

  it('new, in sync, mode-only sync and identical force: changed true, false, true, false on both hosts', async () => {
    expect(summary(await push('app.conf', 'v1'))).to.deep.equal([
      ['success', true],
      ['success', true],
    ]);
    expect(summary(await push('app.conf', 'v1', [['sync', 'true']]))).to.deep.equal([
      ['ignored', false],
      ['ignored', false],
    ]);
    expect(
      summary(
        await push('app.conf', 'v1', [
          ['sync', 'true'],
          ['mode', '0640'],
        ]),
      ),
    ).to.deep.equal([
      ['success', true],
      ['success', true],
    ]);
    expect(
      summary(
        await push('app.conf', 'v1', [
          ['force', 'true'],
          ['mode', '0640'],
        ]),
      ),
    ).to.deep.equal([
      ['success', false],
      ['success', false],
    ]);
    expect(
      summary(
        await push('app.conf', 'v2', [
          ['force', 'true'],
          ['mode', '0640'],
        ]),
      ),
    ).to.deep.equal([
      ['success', true],
      ['success', true],
    ]);
    expect(summary(await push('app.conf', 'v3'))).to.deep.equal([
      ['ignored', false],
      ['ignored', false],
    ]);
    for (const id of ALL) expect((await stat(c.onHost(id, 'app.conf'))).mode & 0o7777).to.equal(0o640);
  });

  it('mode 4755: refused by the agent without allow_special_bits (naming the key), placed by the one that allows it', async () => {
    const [plain, special] = await push('tool', '#!/bin/true', [['mode', '4755']]);
    expect(plain.status).to.equal('error');
    expect(plain.message).to.contain('[file-reception] allow_special_bits = true');
    await stat(c.onHost('chg-plain', 'tool')).then(
      () => expect.fail('the refused file was placed'),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ENOENT'),
    );
    expect([special.status, special.changed], special.message).to.deep.equal(['success', true]);
    expect((await stat(c.onHost('chg-special', 'tool'))).mode & 0o7777).to.equal(0o4755);
  });
});

describe('e2e: [server] allow_special_bits = false refuses special modes for everyone', function () {
  this.timeout(60_000);
  let c: Cluster;
  before(
    async () =>
      (c = await Cluster.start({
        agents: [{ id: 'nobits', fileReception: ['allow_special_bits = true'] }],
        serverLines: ['allow_special_bits = false'],
      })),
  );
  after(() => c?.stop());

  it('400 with a JSON error naming the mode field and the key; nothing staged, and a plain mode still goes', async () => {
    const file = { name: 'upload', filename: 'f', content: Buffer.from('x') };
    const res = await c.upload(file, [
      ['client_id', 'nobits'],
      ['dest', c.dest('suid')],
      ['mode', '2755'],
    ]);
    expect(res.status).to.equal(400);
    const [err] = (res.body as { errors: { code: string; detail: string }[] }).errors;
    expect(err.detail).to.contain('mode "2755"');
    expect(err.detail).to.contain('setgid');
    expect(err.detail).to.contain('[server] allow_special_bits = false');
    expect(await c.filepush()).to.deep.equal([]);
    const ok = await c.upload(file, [
      ['client_id', 'nobits'],
      ['dest', c.dest('plain')],
      ['mode', '0755'],
    ]);
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
  });
});
