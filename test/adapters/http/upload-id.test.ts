import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import type { ClientChannel } from '../../../src/ports/client-channel.ts';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

/** openrport's `id` used twice (openrport never checks): 409 here, wherever the id comes in the form. */
describe('HTTP API: a caller-chosen upload id is used once (real server and SQLite)', () => {
  let t: TestServer;
  let admin: string;

  const send = async (
    token: string,
    fields: [string, string][],
    fileFirst = true,
  ): Promise<{ status: number; errors?: { code: string; title: string; detail: string }[] }> => {
    const fd = new FormData();
    const file = (): void => fd.append('upload', new Blob([Buffer.from('some content')]), 'file.txt');
    if (fileFirst) file();
    for (const [k, v] of fields) fd.append(k, v);
    if (!fileFirst) file();
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: fd,
    });
    return { status: res.status, ...((await res.json()) as object) };
  };
  const distributed = (): Promise<true> =>
    eventually(
      async () => ((await readdir(t.filepush)).length === 0 ? true : undefined),
      'the staged file to be removed',
    );
  const pushesOf = (uuid: string) => t.agents.seen.filter((s) => s.request.uuid === uuid);
  const success = (id: string): [string, string][] => [
    ['client_id', '22114341234'],
    ['dest', '/destination/myfile.txt'],
    ['id', id],
    ['force', '1'],
  ];

  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo('22114341234'));
    t.agents.connect('22114341234');
  });
  after(() => t.close());

  it('an id used before is 409 naming id, whether sent before or after the file; nothing is staged', async () => {
    const id = randomUUID();
    expect((await send(admin, success(id))).status).to.equal(200);
    await distributed();
    for (const fileFirst of [true, false]) {
      const again = await send(admin, success(id), fileFirst);
      expect(again.status, JSON.stringify(again)).to.equal(409);
      expect(again.errors?.[0]).to.include({ code: 'conflict', title: 'Conflict' });
      expect(again.errors?.[0].detail).to.include(`id "${id}" is already used`);
      expect(await readdir(t.filepush)).to.deep.equal([]);
    }
    expect(pushesOf(id)).to.have.length(1);
  });

  it("an id of an upload still staged is 409, and that upload's staged file is left alone", async () => {
    const id = randomUUID();
    t.agents.connect('slow-1', () => ({ status: 'success', message: 'ok' }));
    // The first upload's push waits on this client until released, so its file stays staged.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    await t.presence.announce(clientInfo('slow-1'));
    const channel = t.agents.channelFor('slow-1')!;
    const orig = t.agents.channelFor.bind(t.agents);
    t.agents.channelFor = (cid: string): ClientChannel | undefined =>
      cid === 'slow-1'
        ? {
            push: async (...args: Parameters<ClientChannel['push']>) => {
              await held;
              return channel.push(...args);
            },
          }
        : orig(cid);
    const first = await send(admin, [
      ['client_id', 'slow-1'],
      ['dest', '/srv/a'],
      ['id', id],
    ]);
    expect(first.status).to.equal(200);
    for (const fileFirst of [true, false]) {
      const again = await send(
        admin,
        [
          ['client_id', '22114341234'],
          ['dest', '/srv/b'],
          ['id', id],
        ],
        fileFirst,
      );
      expect(again.status, JSON.stringify(again)).to.equal(409);
      expect(await readdir(t.filepush)).to.deep.equal([`${id}_rport_filepush`]);
    }
    release();
    await distributed();
    expect(pushesOf(id).map((p) => p.request.destination)).to.deep.equal(['/srv/a']);
  });
});
