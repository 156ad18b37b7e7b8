import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

interface Answer {
  status: number;
  headers: Headers;
  data?: { uuid: string; filepath: string; size: number };
  errors?: { code: string; title: string; detail: string }[];
}

const TAGS_OR = `{
						"tags": ["linux"],
						"operator": "OR"
					}`;

/**
 * The cases of openrport's server/upload_test.go, sent as it sends them: the file part first
 * ("some content" as file.txt), then the text fields. Where rport-ts differs on purpose (an `id`
 * that is not a UUID), the test says so and sends a UUID too.
 */
describe("HTTP API: openrport's upload form (its own test inputs, real server and SQLite)", () => {
  let t: TestServer;
  let admin: string;
  let loser: string;
  let wendy: string;

  const send = async (token: string, fields: [string, string][], fileFirst = true): Promise<Answer> => {
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
    return { status: res.status, headers: res.headers, ...((await res.json()) as object) };
  };
  const distributed = (): Promise<true> =>
    eventually(
      async () => ((await readdir(t.filepush)).length === 0 ? true : undefined),
      'the staged file to be removed',
    );
  const pushesOf = (uuid: string) => t.agents.seen.filter((s) => s.request.uuid === uuid);

  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    for (const [id, tags] of [
      ['22114341234', ['linux']],
      ['web-1', ['linux', 'web']],
      ['win-1', ['windows']],
      ['db-1', ['linux', 'db']],
    ] as const) {
      await t.presence.announce(clientInfo(id, { tags: [...tags] }));
      t.agents.connect(id);
    }
    // Known but not connected: tags select it too (openrport's allowDisconnected), and its push fails.
    await t.presence.announce(clientInfo('old-1', { tags: ['legacy'] }));
    await t.presence.disconnected('old-1');
    await fetch(`${t.url}/api/v1/client-groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'web', params: { tag: ['web'] }, allowed_user_groups: ['webops'] }),
    });
    await t.addUser('loser', 'loser-password', []);
    await t.addUser('wendy', 'wendy-password', ['webops']);
    loser = await t.login('loser', 'loser-password');
    wendy = await t.login('wendy', 'wendy-password');
  });
  after(() => t.close());

  const success = (id: string): [string, string][] => [
    ['client_id', '22114341234'],
    ['dest', '/destination/myfile.txt'],
    ['id', id],
    ['user', 'admin'],
    ['group', 'group'],
    ['mode', '0744'],
    ['force', '1'],
    ['sync', '1'],
  ];

  it('"send file success": with a UUID id the upload takes it as its uuid; every field reaches the client', async () => {
    const id = randomUUID();
    const r = await send(admin, success(id));
    expect(r.status, JSON.stringify(r)).to.equal(200);
    expect(r.data).to.deep.equal({ uuid: id, filepath: '/destination/myfile.txt', size: 12 });
    const [push] = await eventually(async () => (pushesOf(id).length ? pushesOf(id) : undefined), 'the push');
    expect(push.clientId).to.equal('22114341234');
    expect(push.bytes.toString()).to.equal('some content');
    expect(push.request).to.deep.include({
      uuid: id,
      sourceName: `${id}_rport_filepush`,
      destination: '/destination/myfile.txt',
      force: true,
      sync: true,
      mode: 0o744,
      ownership: { user: 'admin', group: 'group' },
    });
    await distributed();
  });

  it('"send file success" as openrport sends it, id "id-123": 400 naming id (deliberate: the id names the staged file)', async () => {
    const r = await send(admin, success('id-123'));
    expect(r.status).to.equal(400);
    expect(r.errors?.[0]).to.include({ code: 'invalid' });
    expect(r.errors?.[0].detail).to.match(/^id "id-123" is not a UUID/);
    expect(await readdir(t.filepush)).to.deep.equal([]);
  });

  it('an id sent before the file names the staged file at once; upper case is taken lower-cased', async () => {
    const id = randomUUID();
    const r = await send(admin, success(id.toUpperCase()), false);
    expect(r.status, JSON.stringify(r)).to.equal(200);
    expect(r.data?.uuid).to.equal(id);
    await eventually(async () => (pushesOf(id).length ? true : undefined), 'the push');
    await distributed();
  });

  it('"send file success targeting tags": tags select every known client with the tag (OR)', async () => {
    const id = randomUUID();
    const fields = success(id).filter(([k]) => k !== 'client_id');
    const r = await send(admin, [['tags', TAGS_OR], ...fields]);
    expect(r.status, JSON.stringify(r)).to.equal(200);
    const pushes = await eventually(
      async () => (pushesOf(id).length === 3 ? pushesOf(id) : undefined),
      'three pushes',
    );
    expect(pushes.map((p) => p.clientId).sort()).to.deep.equal(['22114341234', 'db-1', 'web-1']);
    await distributed();
  });

  it('tags with AND select only clients with every tag; a disconnected known client is selected too', async () => {
    const and = await send(admin, [
      ['tags', '{"tags":["linux","web"],"operator":"AND"}'],
      ['dest', '/srv/and'],
    ]);
    expect(and.status, JSON.stringify(and)).to.equal(200);
    await eventually(async () => (pushesOf(and.data!.uuid).length === 1 ? true : undefined), 'one push');
    expect(pushesOf(and.data!.uuid)[0].clientId).to.equal('web-1');
    const legacy = await send(admin, [
      ['tags', '{"tags":["legacy"]}'],
      ['dest', '/srv/old'],
    ]);
    expect(legacy.status, JSON.stringify(legacy)).to.equal(200);
    const res = await eventually(async () => {
      const got = (await (
        await fetch(`${t.url}/api/v1/files/${legacy.data!.uuid}`, {
          headers: { authorization: `Bearer ${admin}` },
        })
      ).json()) as { data: { targets: { client_id: string; status: string }[] } };
      return got.data.targets[0]?.status === 'pending' ? undefined : got.data.targets;
    }, 'the outcome of the disconnected client');
    expect(res).to.have.length(1);
    expect(res[0]).to.include({ client_id: 'old-1', status: 'error' });
    await distributed();
  });

  it('"send file failed, multiple targeting params": client_id beside tags is 400', async () => {
    const r = await send(admin, [
      ['client_id', '22114341234'],
      ['tags', TAGS_OR],
      ['dest', '/destination/myfile.txt'],
      ['id', 'id-123'],
    ]);
    expect(r.status).to.equal(400);
    expect(r.errors?.[0].detail).to.include('multiple targeting options are not supported');
    const group = await send(admin, [
      ['group_id', 'web'],
      ['tags', TAGS_OR],
      ['dest', '/x/y'],
    ]);
    expect(group.status).to.equal(400);
    expect(group.errors?.[0].detail).to.include('multiple targeting options are not supported');
  });

  it('"send file failed, missing tags element": no target at all is 400', async () => {
    const r = await send(admin, [
      ['dest', '/destination/myfile.txt'],
      ['id', 'id-123'],
    ]);
    expect(r.status).to.equal(400);
    expect(r.errors?.[0].detail).to.match(/no target: give at least one client_id or group_id, or tags/);
  });

  it('"send file failed, empty tags": 400 "please specify tags in the tags list"', async () => {
    const r = await send(admin, [
      ['tags', '{\n "tags": [],\n "operator": "OR"\n}'],
      ['dest', '/destination/myfile.txt'],
      ['id', 'id-123'],
    ]);
    expect(r.status).to.equal(400);
    expect(r.errors?.[0].detail).to.include('please specify tags in the tags list');
  });

  it('tags that match no known client are 400 naming tags', async () => {
    const r = await send(admin, [
      ['tags', '{"tags":["solaris"]}'],
      ['dest', '/x/y'],
    ]);
    expect(r.status).to.equal(400);
    expect(r.errors?.[0].detail).to.match(
      /^no known client has tags \["solaris"\] \(OR\): nothing to push to/,
    );
  });

  it('"send file denied, bad user rights": 403 ACCESS_CONTROL_VIOLATION, "upload forbidden"', async () => {
    const r = await send(loser, [
      ['client_id', '22114341234'],
      ['dest', '/destination/myfile.txt'],
      ['id', randomUUID()],
    ]);
    expect(r.status).to.equal(403);
    expect(r.errors?.[0]).to.include({ code: 'ACCESS_CONTROL_VIOLATION', title: 'upload forbidden' });
    expect(r.errors?.[0].detail).to.include('22114341234');
  });

  it('tags go through the same access rule: a non-admin may use tags only when every client they select is reachable', async () => {
    const mine = await send(wendy, [
      ['tags', '{"tags":["web"]}'],
      ['dest', '/srv/w'],
    ]);
    expect(mine.status, JSON.stringify(mine)).to.equal(200);
    await distributed();
    const wider = await send(wendy, [
      ['tags', '{"tags":["linux"]}'],
      ['dest', '/srv/w'],
    ]);
    expect(wider.status).to.equal(403);
    expect(wider.errors?.[0]).to.include({ code: 'ACCESS_CONTROL_VIOLATION', title: 'upload forbidden' });
    expect(wider.errors?.[0].detail).to.include('3 clients, 2 of which user wendy may not push to');
    // The clients wendy may not reach are not named.
    expect(wider.errors?.[0].detail).not.to.match(/22114341234|db-1/);
    expect(await readdir(t.filepush)).to.deep.equal([]);
  });

  it('"send file denied, bad destination": /proc is 400 BAD_DESTINATION, "upload denied"', async () => {
    const r = await send(loser, [
      ['client_id', '22114341234'],
      ['dest', '/proc/myfile.txt'],
      ['id', 'id-123'],
    ]);
    expect(r.status).to.equal(400);
    expect(r.errors?.[0]).to.include({ code: 'BAD_DESTINATION', title: 'upload denied' });
    expect(r.errors?.[0].detail).to.include('/proc');
  });

  it('booleans as Go reads them: t and F pass; "on" is 400 naming force', async () => {
    const ok = await send(admin, [
      ['client_id', 'web-1'],
      ['dest', '/srv/bool'],
      ['force', 't'],
      ['sync', 'F'],
    ]);
    expect(ok.status, JSON.stringify(ok)).to.equal(200);
    const push = await eventually(async () => pushesOf(ok.data!.uuid)[0], 'the push');
    expect(push.request).to.include({ force: true, sync: false });
    await distributed();
    const on = await send(admin, [
      ['client_id', 'web-1'],
      ['dest', '/srv/bool'],
      ['force', 'on'],
    ]);
    expect(on.status).to.equal(400);
    expect(on.errors?.[0].detail).to.match(/^force "on" is not a boolean; use one of 1 t T TRUE true True/);
  });

  it('unknown fields are ignored, named in X-Rport-Ignored-Fields and logged at warn; a repeated dest takes the first', async () => {
    const r = await send(admin, [
      ['client_id', 'web-1'],
      ['dest', '/srv/first'],
      ['dest', '/srv/second'],
      ['colour', 'red'],
      ['größe, cm', '1'],
    ]);
    expect(r.status, JSON.stringify(r)).to.equal(200);
    expect(r.data?.filepath).to.equal('/srv/first');
    expect(r.headers.get('x-rport-ignored-fields')).to.equal('colour, gr%C3%B6%C3%9Fe%2C%20cm');
    const warn = t
      .logLines()
      .map((l) => JSON.parse(l) as { level: number; msg: string; fields?: string[] })
      .find((l) => l.msg.startsWith('upload: ignored unknown form fields'));
    expect(warn?.level).to.equal('warn');
    expect(warn?.fields).to.deep.equal(['colour', 'größe, cm']);
    await distributed();
    const refused = await send(admin, [
      ['client_id', 'web-1'],
      ['colour', 'red'],
    ]);
    expect(refused.status).to.equal(400);
    expect(refused.headers.get('x-rport-ignored-fields'), 'on a refusal too').to.equal('colour');
  });
});
