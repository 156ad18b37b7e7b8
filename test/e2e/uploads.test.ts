import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { Cluster } from './helpers/cluster.ts';
import type { Outcome } from './helpers/outcome-listener.ts';
import { eventually, exists } from './helpers/eventually.ts';

const AGENTS = [
  { id: 'e2e-1', tags: ['web'] },
  { id: 'e2e-2', tags: ['web'] },
  { id: 'e2e-3', tags: ['db'] },
];
const ALL = AGENTS.map((a) => a.id);
// Under a default protected rule ("/usr/sbin"); removed afterwards in case a broken agent ever wrote it.
const PROTECTED_DEST = `/usr/sbin/rport-e2e-${randomBytes(6).toString('hex')}`;

describe('e2e: rportd and three rport agents as processes, curl-equivalent uploads with a WebSocket listener', function () {
  this.timeout(60_000);
  let c: Cluster;

  before(async () => (c = await Cluster.start({ agents: AGENTS })));
  after(async () => {
    await c?.stop();
    await rm(PROTECTED_DEST, { force: true });
  });

  /**
   * One upload as curl sends it, with a listener opened before it: returns the outcomes the
   * socket delivered, after checking that GET /api/v1/files/:uuid stored the same.
   */
  async function push(
    content: Buffer,
    fields: [string, string][],
    expected: number,
  ): Promise<{ uuid: string; outcomes: Outcome[] }> {
    const listener = await c.listen();
    try {
      const res = await c.upload({ name: 'upload', filename: 'payload.bin', content }, fields);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const uuid = (res.body.data as { uuid: string }).uuid;
      const outcomes = await listener.outcomesOf(uuid, expected);
      expect(outcomes).to.have.length(expected);
      const stored = await c.api('GET', `/api/v1/files/${uuid}`);
      expect(stored.status).to.equal(200);
      const targets = (stored.body!.data as { targets: Record<string, unknown>[] }).targets;
      const pick = (o: Record<string, unknown>): Record<string, unknown> => ({
        client_id: o.client_id,
        status: o.status,
        message: o.message,
        filepath: o.filepath,
        size: o.size,
      });
      expect(
        targets.map(pick).sort((a, b) => String(a.client_id).localeCompare(String(b.client_id))),
      ).to.deep.equal(outcomes.map((o) => pick(o as unknown as Record<string, unknown>)));
      return { uuid, outcomes };
    } finally {
      listener.close();
    }
  }

  const toAll = (dest: string, ...more: [string, string][]): [string, string][] => [
    ...ALL.map((id): [string, string] => ['client_id', id]),
    ['dest', dest],
    ...more,
  ];

  /** No staged file on the server and no temp file on any agent once a push has ended. */
  async function expectNoLeftovers(): Promise<void> {
    await eventually(
      async () => void expect(await c.filepush(), 'server {data_dir}/filepush').to.deep.equal([]),
    );
    for (const id of ALL) expect(await c.filepush(id), `${id} {data_dir}/filepush`).to.deep.equal([]);
  }

  it('GET /api/v1/clients shows the three agents connected, with the default protected paths', async () => {
    const res = await c.api('GET', '/api/v1/clients');
    const clients = (
      res.body!.data as { id: string; connected: boolean; file_reception: { protected: string[] } }[]
    ).filter((x) => ALL.includes(x.id));
    expect(clients.map((x) => [x.id, x.connected]).sort()).to.deep.equal(ALL.map((id) => [id, true]));
    for (const x of clients)
      expect(x.file_reception.protected).to.include.members(['/bin', '/usr/sbin', '/lib*']);
  });

  it('to all three: each client gets the exact bytes with the default mode 0764, and reports success', async () => {
    const content = randomBytes(300_000);
    const dest = c.dest('all/app.bin');
    const { outcomes } = await push(content, toAll(dest), 3);
    expect(outcomes.map((o) => [o.client_id, o.status, o.filepath, o.size])).to.deep.equal(
      ALL.map((id) => [id, 'success', dest, content.length]),
    );
    expect(outcomes[0].message).to.equal('file successfully copied to destination');
    for (const id of ALL) {
      const placed = c.onHost(id, 'all/app.bin');
      expect((await readFile(placed)).equals(content), `bytes on ${id}`).to.equal(true);
      expect((await stat(placed)).mode & 0o7777, `mode on ${id}`).to.equal(0o764);
    }
    await expectNoLeftovers();
  });

  it('by group: a client group created through the API reaches its two clients and not the third', async () => {
    const created = await c.api('POST', '/api/v1/client-groups', {
      id: 'web',
      description: 'web servers',
      params: { tag: ['web'] },
      allowed_user_groups: [],
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const content = Buffer.from('group payload\n');
    const { outcomes } = await push(
      content,
      [
        ['group_id', 'web'],
        ['dest', c.dest('group/site.conf')],
      ],
      2,
    );
    expect(outcomes.map((o) => [o.client_id, o.status])).to.deep.equal([
      ['e2e-1', 'success'],
      ['e2e-2', 'success'],
    ]);
    expect(await readFile(c.onHost('e2e-1', 'group/site.conf'), 'utf8')).to.equal('group payload\n');
    expect(await readFile(c.onHost('e2e-2', 'group/site.conf'), 'utf8')).to.equal('group payload\n');
    expect(await exists(c.onHost('e2e-3', 'group/site.conf'))).to.equal(false);
  });

  it('with force: an existing file is replaced on every client, with the mode asked for', async () => {
    const dest = c.dest('force/app.conf');
    await push(Buffer.from('version 1\n'), toAll(dest), 3);
    const { outcomes } = await push(
      Buffer.from('version 2\n'),
      toAll(dest, ['force', 'true'], ['mode', '0640']),
      3,
    );
    expect(outcomes.map((o) => o.status)).to.deep.equal(['success', 'success', 'success']);
    for (const id of ALL) {
      expect(await readFile(c.onHost(id, 'force/app.conf'), 'utf8')).to.equal('version 2\n');
      expect((await stat(c.onHost(id, 'force/app.conf'))).mode & 0o7777).to.equal(0o640);
    }
  });

  it('with sync and an unchanged file: every client answers ignored, already in sync, and leaves the file as it was', async () => {
    const dest = c.dest('sync/app.conf');
    const content = Buffer.from('same content\n');
    await push(content, toAll(dest), 3);
    const before = await Promise.all(ALL.map((id) => stat(c.onHost(id, 'sync/app.conf'))));
    const { outcomes } = await push(content, toAll(dest, ['sync', 'true']), 3);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['ignored', 'ignored', 'ignored']);
    for (const o of outcomes)
      expect(o.message).to.equal(`file ${dest} is already in sync: same md5, mode and owner`);
    const after = await Promise.all(ALL.map((id) => stat(c.onHost(id, 'sync/app.conf'))));
    expect(after.map((s) => [s.ino, s.mtimeMs])).to.deep.equal(before.map((s) => [s.ino, s.mtimeMs]));
    await expectNoLeftovers();
  });

  it('an existing file with neither force nor sync: every client answers ignored and keeps its file', async () => {
    const dest = c.dest('keep/app.conf');
    await push(Buffer.from('original\n'), toAll(dest), 3);
    const { outcomes } = await push(Buffer.from('newer\n'), toAll(dest), 3);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['ignored', 'ignored', 'ignored']);
    for (const o of outcomes)
      expect(o.message).to.equal(`file ${dest} already exists; set force or sync to replace it`);
    for (const id of ALL)
      expect(await readFile(c.onHost(id, 'keep/app.conf'), 'utf8')).to.equal('original\n');
    await expectNoLeftovers();
  });

  it('to a protected path: every client answers error naming the protected rule, writes nothing and leaves no temp file', async () => {
    const { outcomes } = await push(Buffer.from('#!/bin/sh\n'), toAll(PROTECTED_DEST, ['force', 'true']), 3);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['error', 'error', 'error']);
    for (const o of outcomes) {
      expect(o.message).to.equal(
        `${PROTECTED_DEST} is a protected path (matches "/usr/sbin" in [file-reception] protected)`,
      );
    }
    expect(await exists(PROTECTED_DEST)).to.equal(false);
    await expectNoLeftovers();
  });

  it('bad input (a relative dest) is refused with 400 naming the field, stages nothing, and the server stays up', async () => {
    const res = await c.upload({ name: 'upload', filename: 'x', content: Buffer.from('x') }, [
      ['client_id', 'e2e-1'],
      ['dest', 'etc/x'],
    ]);
    expect(res.status).to.equal(400);
    expect(JSON.stringify(res.body)).to.include('dest \\"etc/x\\" is not an absolute path');
    expect(await c.filepush()).to.deep.equal([]);
    await mkdir(c.onHost('e2e-1', 'alive'), { recursive: true });
    const { outcomes } = await push(
      Buffer.from('still here\n'),
      [
        ['client_id', 'e2e-1'],
        ['dest', c.dest('alive/x')],
      ],
      1,
    );
    expect(outcomes[0].status).to.equal('success');
  });
});
