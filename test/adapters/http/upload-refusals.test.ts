import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { RateLimitedWarnings } from '../../../src/adapters/http/rate-limited-warnings.ts';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

const MAX = 256 * 1024;

interface Rejected {
  username: string;
  upload_uuid: string;
  request: { field: string; reason: string; detail: string };
}

/** Sends raw bytes on a fresh socket and resolves with what comes back until the answer is complete. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
      const end = got.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(got)?.[1];
      if (end >= 0 && len !== undefined && got.length >= end + 4 + Number(len)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    // Headers only: the body that Content-Length announces is never sent.
    s.write(head);
  });
}

describe('HTTP API: every refused upload of a user is audited; unauthenticated ones are logged, rate limited', () => {
  let t: TestServer;
  let admin: string;
  let wendy: string;
  const port = (): number => Number(new URL(t.url).port);

  const post = (token: string, body: BodyInit, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...headers },
      body,
      duplex: 'half',
    } as RequestInit);
  const rejections = async (): Promise<Rejected[]> => {
    const res = await fetch(
      `${t.url}/api/v1/audit-logs?filter[application]=uploads&filter[action]=rejected&page[limit]=1000`,
      { headers: { authorization: `Bearer ${admin}` } },
    );
    return ((await res.json()) as { data: Rejected[] }).data;
  };
  /** Runs one refused upload; returns its answer and the one audit entry it added. */
  const refusedOnce = async (
    send: () => Promise<{ status: number; body: string }>,
  ): Promise<{
    status: number;
    doc: { errors: { code: string; title: string; detail: string }[] };
    entry: Rejected;
  }> => {
    const before = await rejections();
    const { status, body } = await send();
    // Polled: the assertion is that the entry comes, one and only one, not how soon it is readable.
    const after = await eventually(async () => {
      const now = await rejections();
      return now.length > before.length ? now : undefined;
    }, "the refusal's audit entry");
    expect(after.length, 'one new audit entry').to.equal(before.length + 1);
    expect(await readdir(t.filepush), 'nothing staged').to.deep.equal([]);
    return { status, doc: JSON.parse(body) as never, entry: after[0] };
  };
  const viaFetch = (res: Promise<Response>) => async () => {
    const r = await res;
    return { status: r.status, body: await r.text() };
  };
  const form = (fields: [string, string][], bytes = Buffer.from('content')): FormData => {
    const fd = new FormData();
    for (const [k, v] of fields) fd.append(k, v);
    fd.append('upload', new Blob([new Uint8Array(bytes)]), 'f.txt');
    return fd;
  };

  before(async () => {
    t = await startTestServer({ maxFilepushSize: MAX });
    admin = await t.login(t.admin.username, t.admin.password);
    for (const [id, tag] of [
      ['web-1', 'web'],
      ['db-1', 'db'],
    ]) {
      await t.presence.announce(clientInfo(id, { tags: [tag] }));
      t.agents.connect(id);
    }
    await fetch(`${t.url}/api/v1/client-groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'web', params: { tag: ['web'] }, allowed_user_groups: ['webops'] }),
    });
    await t.addUser('wendy', 'wendy-password', ['webops']);
    wendy = await t.login('wendy', 'wendy-password');
  });
  after(() => t.close());

  it('content type: text/plain is 400 and audited naming Content-Type', async () => {
    const r = await refusedOnce(viaFetch(post(wendy, 'just text', { 'content-type': 'text/plain' })));
    expect(r.status).to.equal(400);
    expect(r.doc.errors[0].detail).to.match(/Content-Type "text\/plain" is not multipart\/form-data/);
    expect(r.entry.username).to.equal('wendy');
    expect(r.entry.request).to.include({ field: 'Content-Type', reason: 'malformed' });
    expect(r.entry.request.detail).to.include('text/plain');
  });

  it('missing boundary: multipart/form-data without one is 400 and audited', async () => {
    const r = await refusedOnce(viaFetch(post(admin, 'x', { 'content-type': 'multipart/form-data' })));
    expect(r.status).to.equal(400);
    expect(r.entry.username).to.equal(t.admin.username);
    expect(r.entry.request).to.include({ field: 'Content-Type', reason: 'malformed' });
    expect(r.entry.request.detail).to.match(/no valid boundary/);
  });

  it('size by Content-Length: headers only on a raw socket get 413 naming max_filepush_size, audited, nothing staged', async () => {
    const r = await refusedOnce(async () => {
      const answer = await rawRequest(
        port(),
        'POST /api/v1/files HTTP/1.1\r\nHost: x\r\n' +
          `Authorization: Bearer ${wendy}\r\n` +
          'Content-Type: multipart/form-data; boundary=abc\r\n' +
          'Content-Length: 100000000000\r\n\r\n',
      );
      const [head, body] = answer.split('\r\n\r\n');
      return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), body };
    });
    expect(r.status).to.equal(413);
    expect(r.doc.errors[0].code).to.equal('too-large');
    expect(r.doc.errors[0].detail).to.match(/max_filepush_size \(262144 bytes\)/);
    expect(r.entry.username).to.equal('wendy');
    expect(r.entry.request).to.include({ field: 'upload', reason: 'too-large' });
  });

  it('size while streaming (chunked, no Content-Length): 413 and audited', async () => {
    const boundary = 'refusal-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nweb-1\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="dest"\r\n\r\n/srv/big.bin\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\n\r\n`,
    );
    let sent = -1;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent === -1) ctrl.enqueue(head);
        else if (sent < MAX + 1) ctrl.enqueue(new Uint8Array(64 * 1024).fill(1));
        else return ctrl.close();
        sent = sent === -1 ? 0 : sent + 64 * 1024;
      },
    });
    const r = await refusedOnce(
      viaFetch(post(admin, body, { 'content-type': `multipart/form-data; boundary=${boundary}` })),
    );
    expect(r.status).to.equal(413);
    expect(r.entry.request).to.include({ field: 'upload', reason: 'too-large' });
  });

  it('fields: a relative dest is 400 and audited naming dest', async () => {
    const r = await refusedOnce(
      viaFetch(
        post(
          wendy,
          form([
            ['client_id', 'web-1'],
            ['dest', 'srv/f.txt'],
          ]),
        ),
      ),
    );
    expect(r.status).to.equal(400);
    expect(r.doc.errors[0]).to.include({ code: 'BAD_DESTINATION', title: 'upload denied' });
    expect(r.entry.request).to.include({ field: 'dest', reason: 'bad-destination' });
  });

  it('access: a client the user may not reach is 403 and audited under that user', async () => {
    const r = await refusedOnce(
      viaFetch(
        post(
          wendy,
          form([
            ['client_id', 'db-1'],
            ['dest', '/srv/f.txt'],
          ]),
        ),
      ),
    );
    expect(r.status).to.equal(403);
    expect(r.doc.errors[0]).to.include({ code: 'ACCESS_CONTROL_VIOLATION', title: 'upload forbidden' });
    expect(r.entry.username).to.equal('wendy');
    expect(r.entry.request).to.include({ reason: 'forbidden' });
    expect(r.entry.request.detail).to.include('db-1');
  });

  it('unauthenticated: logged at warn with the address, at most 10 lines a minute, never audited', async () => {
    const before = await rejections();
    const linesBefore = t.logLines().length;
    const attempts = [
      () => fetch(`${t.url}/api/v1/files`, { method: 'POST', body: form([['dest', '/srv/f.txt']]) }),
      () => post('not.a.token', form([['dest', '/srv/f.txt']])),
      () =>
        fetch(`${t.url}/api/v1/files`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` },
          body: form([['dest', '/srv/f.txt']]),
        }),
    ];
    for (let i = 0; i < 15; i++) {
      const res = await attempts[i % attempts.length]();
      expect(res.status).to.equal(401);
      await res.arrayBuffer();
    }
    const warned = t
      .logLines()
      .slice(linesBefore)
      .map((l) => JSON.parse(l) as { level: number | string; msg: string; address?: string; status?: number })
      .filter((l) => l.msg.startsWith('upload refused: not authenticated'));
    expect(warned).to.have.length(10);
    for (const w of warned) {
      expect([40, 'warn'], 'warn level').to.include(w.level);
      expect(w.address).to.match(/127\.0\.0\.1$/);
      expect(w.status).to.equal(401);
    }
    expect(await rejections(), 'no audit entry').to.have.length(before.length);
  });
});

describe('RateLimitedWarnings', () => {
  it('writes N lines per window, then one line naming how many were suppressed', () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
    };
    let now = 1_000_000;
    const w = new RateLimitedWarnings(logger, 'refused', { perWindow: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 8; i++) w.warn({ i });
    expect(lines.map((l) => l.fields.i)).to.deep.equal([0, 1, 2]);
    now += 60_000;
    w.warn({ i: 8 });
    expect(lines.slice(3).map((l) => l.message)).to.deep.equal([
      'refused: 5 more suppressed (at most 3 lines per 60 s)',
      'refused',
    ]);
    expect(lines[3].fields).to.deep.equal({ suppressed: 5, window_s: 60 });
    w.flush();
    expect(lines, 'nothing more to say').to.have.length(5);
  });
});
