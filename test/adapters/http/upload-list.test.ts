import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

interface Listed {
  uuid: string;
  requested_by: string;
  created_at: string;
  dest: string;
  mode?: string;
  targets: { client_id: string; status: string }[];
}
interface Page {
  data: Listed[];
  meta: { count: number; limit: number; offset: number };
}

describe('HTTP API: GET /api/v1/files lists uploads (real server and SQLite)', () => {
  let t: TestServer;
  let admin: string;
  let wendy: string;
  const uploads: Record<string, string> = {};

  const list = async (token: string, query = ''): Promise<{ status: number; body: Page }> => {
    const res = await fetch(`${t.url}/api/v1/files${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, body: (await res.json()) as Page };
  };
  const upload = async (token: string, name: string, fields: [string, string][]): Promise<void> => {
    const fd = new FormData();
    for (const [k, v] of fields) fd.append(k, v);
    fd.append('upload', new Blob([Buffer.from(name)]), `${name}.txt`);
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: fd,
    });
    const doc = (await res.json()) as { data: { uuid: string } };
    expect(res.status, JSON.stringify(doc)).to.equal(200);
    uploads[name] = doc.data.uuid;
    await eventually(
      async () => ((await readdir(t.filepush)).length === 0 ? true : undefined),
      'distribution',
    );
  };
  const names = (p: Page): string[] =>
    p.data.map((u) => Object.keys(uploads).find((k) => uploads[k] === u.uuid) ?? u.uuid);

  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo('web-1', { tags: ['web'] }));
    await t.presence.announce(clientInfo('db-1', { tags: ['db'] }));
    t.agents.connect('web-1');
    t.agents.connect('db-1', () => ({ status: 'error', message: 'disk full' }));
    await fetch(`${t.url}/api/v1/client-groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'web', params: { tag: ['web'] }, allowed_user_groups: ['webops'] }),
    });
    await t.addUser('wendy', 'wendy-password', ['webops']);
    wendy = await t.login('wendy', 'wendy-password');
    await upload(admin, 'first', [
      ['client_id', 'web-1'],
      ['client_id', 'db-1'],
      ['dest', '/srv/a'],
      ['mode', '0640'],
    ]);
    await upload(wendy, 'second', [
      ['client_id', 'web-1'],
      ['dest', '/srv/b'],
    ]);
    await upload(admin, 'third', [
      ['client_id', 'web-1'],
      ['dest', '/srv/c'],
    ]);
    // A refused upload is not listed.
    await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: (() => {
        const fd = new FormData();
        fd.append('dest', 'relative');
        fd.append('client_id', 'web-1');
        fd.append('upload', new Blob(['x']), 'x');
        return fd;
      })(),
    });
  });
  after(() => t.close());

  it('administrators see every accepted upload, newest first, in the shape of GET /api/v1/files/:uuid', async () => {
    const { status, body } = await list(admin);
    expect(status).to.equal(200);
    expect(names(body)).to.deep.equal(['third', 'second', 'first']);
    expect(body.meta).to.deep.equal({ count: 3, limit: 50, offset: 0 });
    const first = body.data[2];
    const one = (await (
      await fetch(`${t.url}/api/v1/files/${uploads.first}`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as { data: Listed };
    expect(first).to.deep.equal(one.data);
    expect(first).to.include({ requested_by: t.admin.username, dest: '/srv/a', mode: '0640' });
    expect(first.targets.map((x) => [x.client_id, x.status])).to.deep.equal([
      ['db-1', 'error'],
      ['web-1', 'success'],
    ]);
  });

  it('other users see their own uploads only, whatever user they filter on (the rule of GET /api/v1/files/:uuid)', async () => {
    expect(names((await list(wendy)).body)).to.deep.equal(['second']);
    const other = await list(wendy, `?filter[username]=${t.admin.username}`);
    expect([names(other.body), other.body.meta.count]).to.deep.equal([['second'], 1]);
  });

  it('filters by client, user, status and time; sorts oldest first; pages', async () => {
    expect(names((await list(admin, '?filter[client_id]=db-1')).body)).to.deep.equal(['first']);
    expect(names((await list(admin, '?filter[username]=wendy')).body)).to.deep.equal(['second']);
    expect(names((await list(admin, '?filter[status]=error')).body)).to.deep.equal(['first']);
    expect(names((await list(admin, '?filter[status]=pending')).body)).to.deep.equal([]);
    const all = (await list(admin)).body.data;
    const since = encodeURIComponent(all[1].created_at);
    expect(names((await list(admin, `?filter[since]=${since}`)).body)).to.deep.equal(['third', 'second']);
    expect(names((await list(admin, `?filter[until]=${since}`)).body)).to.deep.equal(['first']);
    expect(names((await list(admin, '?sort=created_at')).body)).to.deep.equal(['first', 'second', 'third']);
    const page = await list(admin, '?sort=created_at&page[limit]=1&page[offset]=1');
    expect([names(page.body), page.body.meta]).to.deep.equal([['second'], { count: 3, limit: 1, offset: 1 }]);
  });

  it('a bad query is 400 naming the parameter; no credentials is 401', async () => {
    for (const [query, detail] of [
      ['?filter[status]=done', /filter\[status\] must be one of pending, success, ignored, error/],
      ['?sort=size', /sort must be created_at or -created_at/],
      ['?page[limit]=0', /page\[limit\] must be a whole number from 1 to 1000/],
      ['?filter[since]=yesterday', /filter\[since\] must be an ISO 8601 time/],
      ['?filter[colour]=red', /filter\[colour\] is not a known query parameter/],
      ['?sort=created_at&sort=-created_at', /sort was given more than once/],
    ] as const) {
      const r = (await list(admin, query)) as unknown as {
        status: number;
        body: { errors: { detail: string }[] };
      };
      expect(r.status, query).to.equal(400);
      expect(r.body.errors[0].detail, query).to.match(detail);
    }
    expect((await fetch(`${t.url}/api/v1/files`)).status).to.equal(401);
  });
});
