import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServerConfig } from '../../../src/adapters/config/server-config.ts';
import { startServer } from '../../../src/composition/rportd/start.ts';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';
import { haveOpenssl, selfSigned } from '../../support/self-signed.ts';

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS request that trusts exactly `ca` (fetch cannot take a CA per request). */
function httpsRequest(
  url: string,
  ca: Buffer | undefined,
  init: { method: string; headers?: Record<string, string>; body?: Buffer },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method, headers: init.headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The bytes and content type FormData would send, for a request made with node:https. */
async function encodeForm(fd: FormData): Promise<{ body: Buffer; type: string }> {
  const r = new Request('http://encode.invalid/', { method: 'POST', body: fd });
  return { body: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type')! };
}

describe('HTTPS: rportd with [api] cert_file and key_file', function () {
  this.timeout(20_000);
  let dir: string;
  let files: { cert: string; key: string };
  let ca: Buffer;
  let t: TestServer | undefined;

  before(async function () {
    if (!(await haveOpenssl('the HTTPS tests'))) return this.skip();
    dir = await mkdtemp(join(tmpdir(), 'rportd-https-'));
    files = await selfSigned(dir);
    ca = await readFile(files.cert);
  });

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the API over HTTPS: a login and an upload with the CA trusted for the request, and a request without it is refused', async () => {
    t = await startTestServer({ api: { cert_file: files.cert, key_file: files.key } });
    expect(t.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);

    await httpsRequest(`${t.url}/api/v1/login`, undefined, { method: 'POST' }).then(
      () => expect.fail('a client that does not trust the certificate must not get through'),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT'),
    );

    const login = await httpsRequest(`${t.url}/api/v1/login`, ca, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ username: t.admin.username, password: t.admin.password })),
    });
    expect(login.status, login.body).to.equal(200);
    const token = (JSON.parse(login.body) as { data: { token: string } }).data.token;

    await t.presence.announce(clientInfo('tls-client'));
    t.agents.connect('tls-client');
    const bytes = randomBytes(300 * 1024);
    const fd = new FormData();
    fd.append('upload', new Blob([new Uint8Array(bytes)]), 'over-tls.bin');
    fd.append('client_id', 'tls-client');
    fd.append('dest', '/tmp/over-tls.bin');
    const { body, type } = await encodeForm(fd);
    const upload = await httpsRequest(`${t.url}/api/v1/files`, ca, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': type,
        'content-length': String(body.length),
      },
      body,
    });
    expect(upload.status, upload.body).to.equal(200);
    const data = (JSON.parse(upload.body) as { data: { uuid: string; size: number } }).data;
    expect(data.size).to.equal(bytes.length);
    const seen = await eventually(
      async () => t!.agents.seen.find((s) => s.request.uuid === data.uuid),
      'the agent to fetch the upload',
    );
    expect(seen.md5).to.equal(createHash('md5').update(bytes).digest('hex'));
  });

  it('a bad [api] cert_file path stops the start-up with an error naming [api] cert_file and the path', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rportd-https-bad-'));
    try {
      const missing = join(dir, 'no-such-cert.pem');
      const config = parseServerConfig(
        {
          server: { data_dir: dataDir, address: '127.0.0.1:0' },
          api: { address: '127.0.0.1:0', cert_file: missing, key_file: files.key },
        },
        dataDir,
      );
      const err = await startServer(config, { logger: new MemoryLogger() }).then(
        () => expect.fail('start-up must fail'),
        (e: Error) => e,
      );
      expect(err.message).to.include('[api] cert_file').and.include(missing);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a cert_file that is not a certificate stops the start-up with an error naming [api] cert_file', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rportd-https-junk-'));
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a certificate\n');
    try {
      const config = parseServerConfig(
        {
          server: { data_dir: dataDir, address: '127.0.0.1:0' },
          api: { address: '127.0.0.1:0', cert_file: junk, key_file: files.key },
        },
        dataDir,
      );
      const err = await startServer(config, { logger: new MemoryLogger() }).then(
        () => expect.fail('start-up must fail'),
        (e: Error) => e,
      );
      expect(err.message).to.include('[api] cert_file').and.include(junk);
      expect(await readdir(join(dataDir, 'filepush'))).to.deep.equal([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
