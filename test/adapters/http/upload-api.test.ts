import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

const CLIENT_A = '89C4AB76-D90A-555C-85BF-9F8770A3036F';
const CLIENT_B = 'b4f795ef-718f-4f69-8f6f-b304b38a904f';

interface ErrorDoc {
  errors: { code: string; title: string; detail: string }[];
}

function form(
  fields: [string, string][],
  file?: { bytes: Buffer; name?: string },
  fileFirst = true,
): FormData {
  const fd = new FormData();
  const addFile = (): void => {
    if (file) fd.append('upload', new Blob([new Uint8Array(file.bytes)]), file.name ?? 'some-file.txt');
  };
  if (fileFirst) addFile();
  for (const [k, v] of fields) fd.append(k, v);
  if (!fileFirst) addFile();
  return fd;
}

/** A multipart body streamed in chunks without a Content-Length (Transfer-Encoding: chunked). */
function chunkedMultipart(
  boundary: string,
  fields: [string, string][],
  fileSize: number,
): ReadableStream<Uint8Array> {
  const head = Buffer.from(
    fields
      .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
      .join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let sent = -1;
  const chunk = Buffer.alloc(64 * 1024, 7);
  return new ReadableStream({
    pull(ctrl) {
      if (sent === -1) {
        ctrl.enqueue(head);
        sent = 0;
      } else if (sent < fileSize) {
        const n = Math.min(chunk.length, fileSize - sent);
        ctrl.enqueue(chunk.subarray(0, n));
        sent += n;
      } else {
        ctrl.enqueue(tail);
        ctrl.close();
      }
    },
  });
}

describe('HTTP API: POST /api/v1/files (real server, real SQLite, fetch + FormData)', () => {
  let t: TestServer;
  let token: string;
  const post = (body: FormData | string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...headers },
      body,
    });
  const expectError = async (res: Response, status: number, field: RegExp): Promise<void> => {
    const doc = (await res.json()) as ErrorDoc;
    expect(res.status, JSON.stringify(doc)).to.equal(status);
    expect(doc.errors).to.have.length(1);
    expect(doc.errors[0]).to.have.keys('code', 'title', 'detail');
    expect(doc.errors[0].detail).to.match(field);
  };
  const nothingStaged = async (): Promise<void> => {
    expect(await readdir(t.filepush)).to.deep.equal([]);
  };
  // After an accepted upload: wait for its distribution to remove the staged file, so the next test starts clean.
  const distributed = (): Promise<true> =>
    eventually(
      async () => ((await readdir(t.filepush)).length === 0 ? true : undefined),
      'the staged file to be removed',
    );

  before(async () => {
    t = await startTestServer({ maxFilepushSize: 256 * 1024 });
    token = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo(CLIENT_A));
    await t.presence.announce(clientInfo(CLIENT_B));
    t.agents.connect(CLIENT_A);
    t.agents.connect(CLIENT_B, () => ({ status: 'error', message: 'rename: permission denied' }));
  });
  after(() => t.close());

  it('a successful upload: 200 at once, the staged file has the right bytes and md5, and is removed after distribution', async () => {
    const bytes = Buffer.from('some file content\n'.repeat(1000));
    const md5 = createHash('md5').update(bytes).digest('hex');
    const res = await post(
      form(
        [
          ['client_id', CLIENT_A],
          ['client_id', CLIENT_B],
          ['dest', '/Users/hero/Projects/rport/dist/data/client/some-file.txt'],
          ['force', 'true'],
          ['sync', 'true'],
          ['mode', '0744'],
          ['user', 'hero'],
          ['group', 'staff'],
        ],
        { bytes },
      ),
    );
    const body = (await res.json()) as { data: { uuid: string; filepath: string; size: number } };
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expect(body.data.uuid).to.match(/^[0-9a-f-]{36}$/);
    expect(body.data).to.include({
      filepath: '/Users/hero/Projects/rport/dist/data/client/some-file.txt',
      size: bytes.length,
    });
    await eventually(
      async () =>
        t.agents.seen.filter((s) => s.request.uuid === body.data.uuid).length === 2 ? true : undefined,
      'both pushes',
    );
    for (const seen of t.agents.seen.filter((s) => s.request.uuid === body.data.uuid)) {
      expect(seen.bytes.equals(bytes)).to.equal(true);
      expect(seen.md5).to.equal(md5);
      expect(seen.request).to.include({
        md5,
        size: bytes.length,
        force: true,
        sync: true,
        mode: 0o744,
        sourceName: `${body.data.uuid}_rport_filepush`,
      });
      expect(seen.request.ownership).to.deep.equal({ user: 'hero', group: 'staff' });
    }
    await distributed();
  });

  it('fields may come before the file too', async () => {
    const res = await post(
      form(
        [
          ['client_id', CLIENT_A],
          ['dest', '/tmp/after.txt'],
        ],
        { bytes: Buffer.from('x') },
        false,
      ),
    );
    expect(res.status).to.equal(200);
    await distributed();
  });

  it('over the limit: 413 and nothing in filepush/', async () => {
    const res = await post(
      form(
        [
          ['client_id', CLIENT_A],
          ['dest', '/tmp/big.bin'],
        ],
        { bytes: Buffer.alloc(256 * 1024 + 1, 1) },
      ),
    );
    await expectError(res, 413, /max_filepush_size \(262144 bytes\)/);
    await nothingStaged();
  });

  it('a chunked upload over the limit: 413 and nothing in filepush/', async () => {
    const boundary = 'rport-test-boundary-1234';
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body: chunkedMultipart(
        boundary,
        [
          ['client_id', CLIENT_A],
          ['dest', '/tmp/big.bin'],
        ],
        2 * 1024 * 1024,
      ),
      duplex: 'half',
    } as RequestInit);
    await expectError(res, 413, /max_filepush_size/);
    await nothingStaged();
  });

  it('a chunked upload under the limit is accepted', async () => {
    const boundary = 'rport-test-boundary-5678';
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body: chunkedMultipart(
        boundary,
        [
          ['client_id', CLIENT_A],
          ['dest', '/tmp/chunked.bin'],
        ],
        200 * 1024,
      ),
      duplex: 'half',
    } as RequestInit);
    const body = (await res.json()) as { data: { size: number } };
    expect(res.status).to.equal(200);
    expect(body.data.size).to.equal(200 * 1024);
    await distributed();
  });

  it('malformed multipart: 400, nothing staged, and the process stays up', async () => {
    const res = await post('this is not multipart at all', {
      'content-type': 'multipart/form-data; boundary=xyz',
    });
    await expectError(res, 400, /malformed multipart body/);
    const truncated = await post(
      `--xyz\r\nContent-Disposition: form-data; name="upload"; filename="a"\r\n\r\npartial bytes`,
      {
        'content-type': 'multipart/form-data; boundary=xyz',
      },
    );
    await expectError(truncated, 400, /ended before the closing boundary/);
    const notMultipart = await post('{"dest":"/tmp/x"}', { 'content-type': 'application/json' });
    await expectError(notMultipart, 400, /multipart\/form-data/);
    await nothingStaged();
    const again = await post(
      form(
        [
          ['client_id', CLIENT_A],
          ['dest', '/tmp/ok.txt'],
        ],
        { bytes: Buffer.from('ok') },
      ),
    );
    expect(again.status).to.equal(200);
    await distributed();
  });

  it('a missing upload: 400 naming upload', async () => {
    await expectError(
      await post(
        form([
          ['client_id', CLIENT_A],
          ['dest', '/tmp/x'],
        ]),
      ),
      400,
      /upload is required/,
    );
  });

  it('a missing dest: 400 naming dest, nothing staged', async () => {
    await expectError(
      await post(form([['client_id', CLIENT_A]], { bytes: Buffer.from('x') })),
      400,
      /dest is required/,
    );
    await nothingStaged();
  });

  it('a relative dest: 400 naming dest, nothing staged', async () => {
    await expectError(
      await post(
        form(
          [
            ['client_id', CLIENT_A],
            ['dest', 'etc/x.conf'],
          ],
          { bytes: Buffer.from('x') },
        ),
      ),
      400,
      /dest "etc\/x.conf" is not an absolute path/,
    );
    await nothingStaged();
  });

  it('a dest under the server deny list (also as //proc/x): 400 naming dest', async () => {
    await expectError(
      await post(
        form(
          [
            ['client_id', CLIENT_A],
            ['dest', '//proc/x'],
          ],
          { bytes: Buffer.from('x') },
        ),
      ),
      400,
      /dest "\/\/proc\/x" is under \/proc/,
    );
    await nothingStaged();
  });

  it('a bad mode: 400 naming mode, nothing staged', async () => {
    await expectError(
      await post(
        form(
          [
            ['client_id', CLIENT_A],
            ['dest', '/tmp/x'],
            ['mode', '999'],
          ],
          { bytes: Buffer.from('x') },
        ),
      ),
      400,
      /mode/,
    );
    await nothingStaged();
  });

  it('a bad boolean and a bad user name: 400 naming the field', async () => {
    await expectError(
      await post(
        form(
          [
            ['client_id', CLIENT_A],
            ['dest', '/tmp/x'],
            ['force', 'maybe'],
          ],
          { bytes: Buffer.from('x') },
        ),
      ),
      400,
      /force "maybe"/,
    );
    await expectError(
      await post(
        form(
          [
            ['client_id', CLIENT_A],
            ['dest', '/tmp/x'],
            ['user', 'root;rm -rf'],
          ],
          { bytes: Buffer.from('x') },
        ),
      ),
      400,
      /user/,
    );
    await nothingStaged();
  });

  it('no target: 400 naming client_id', async () => {
    await expectError(await post(form([['dest', '/tmp/x']], { bytes: Buffer.from('x') })), 400, /client_id/);
  });

  it('an unknown client: 404 naming client_id; an unknown group: 404 naming group_id; nothing staged', async () => {
    await expectError(
      await post(
        form(
          [
            ['client_id', 'nope'],
            ['dest', '/tmp/x'],
          ],
          { bytes: Buffer.from('x') },
        ),
      ),
      404,
      /unknown client_id "nope"/,
    );
    await expectError(
      await post(
        form(
          [
            ['group_id', 'nogroup'],
            ['dest', '/tmp/x'],
          ],
          { bytes: Buffer.from('x') },
        ),
      ),
      404,
      /unknown group_id "nogroup"/,
    );
    await nothingStaged();
  });

  it('an unknown client sent before the file: the 404 comes while the body is still open, and nothing is staged', async () => {
    const boundary = 'early-answer-boundary';
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${t.url}/api/v1/files`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
      });
      const timer = setTimeout(
        () => (
          req.destroy(),
          reject(new Error('no answer while the body was still open: the server waited for the whole file'))
        ),
        10_000,
      );
      req.once('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.once(
          'end',
          () => (clearTimeout(timer), req.destroy(), resolve({ status: res.statusCode ?? 0, text })),
        );
      });
      req.once('error', () => undefined);
      // The fields, the file part's head and its first 128 KiB (under this server's 256 KiB limit); the body is never ended.
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nnope\r\n`);
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="dest"\r\n\r\n/tmp/x\r\n`);
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\n\r\n`);
      req.write(Buffer.alloc(128 * 1024, 1));
    });
    expect(answer.status).to.equal(404);
    expect((JSON.parse(answer.text) as ErrorDoc).errors[0].detail).to.match(/unknown client_id "nope"/);
    await nothingStaged();
  });

  it('group_id expands through the client group', async () => {
    const g = await fetch(`${t.url}/api/v1/client-groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'both', params: { client_id: [CLIENT_A, CLIENT_B.slice(0, 8) + '*'] } }),
    });
    expect(g.status).to.equal(201);
    const res = await post(
      form(
        [
          ['group_id', 'both'],
          ['dest', '/tmp/group.txt'],
        ],
        { bytes: Buffer.from('g') },
      ),
    );
    const body = (await res.json()) as { data: { uuid: string } };
    const seen = await eventually(async () => {
      const s = t.agents.seen.filter((x) => x.request.uuid === body.data.uuid);
      return s.length === 2 ? s : undefined;
    }, 'both group members');
    expect(seen.map((s) => s.clientId).sort()).to.deep.equal([CLIENT_A, CLIENT_B].sort());
    await distributed();
  });

  it("the spec's curl example works as written, once a real token is in it", async function () {
    const hasCurl = await new Promise<boolean>((r) => execFile('curl', ['--version'], (e) => r(!e)));
    if (!hasCurl) {
      if (process.env.CI === 'true') throw new Error('curl is required in CI');
      console.warn('\n    !!! curl is not installed: skipping the curl example test !!!\n');
      return this.skip();
    }
    const file = join(t.dataDir, 'some-file.txt');
    await writeFile(file, 'hello from curl\n');
    const args = [
      '-s',
      '-XPOST',
      '-H',
      `Authorization: Bearer ${token}`,
      '-F',
      `upload=@${file}`,
      '-F',
      `client_id=${CLIENT_A}`,
      '-F',
      `client_id=${CLIENT_B}`,
      '-F',
      'dest=/Users/hero/Projects/rport/dist/data/client/some-file.txt',
      '-F',
      'force=true',
      '-F',
      'sync=true',
      '-F',
      'mode=0744',
      '-F',
      'user=hero',
      '-F',
      'group=staff',
      `${t.url}/api/v1/files`,
    ];
    const out = await new Promise<string>((resolve, reject) =>
      execFile('curl', args, (e, stdout) => (e ? reject(e) : resolve(stdout))),
    );
    const body = JSON.parse(out) as { data: { uuid: string; size: number; filepath: string } };
    expect(body.data).to.include({
      size: 16,
      filepath: '/Users/hero/Projects/rport/dist/data/client/some-file.txt',
    });
    await distributed();
  });
});
