import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster } from './helpers/cluster.ts';
import { freePort } from './helpers/processes.ts';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** Pushes content to the one agent `id` through the API; resolves with its outcome. */
async function pushTo(
  c: Cluster,
  id: string,
  content: Buffer,
  dest: string,
): Promise<{ status: string; message?: string }> {
  const listener = await c.listen();
  try {
    const res = await c.upload({ name: 'upload', filename: 'pkg.bin', content }, [
      ['client_id', id],
      ['dest', c.dest(dest)],
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const uuid = (res.body.data as { uuid: string }).uuid;
    const [o] = await listener.outcomesOf(uuid, 1);
    return o;
  } finally {
    listener.close();
  }
}

describe('e2e: a push fetched over TLS, processes as shipped', function () {
  this.timeout(60_000);
  let c: Cluster | undefined;
  afterEach(async () => {
    await c?.stop();
    c = undefined;
  });

  it('by default, on the SSH port: certificate made in data_dir, the agent fetches over TLS, md5 matches', async () => {
    c = await Cluster.start({
      agents: [{ id: 'tls-1' }],
      maxFilepushSize: 64 * 1024 * 1024,
      sections: '[logging]\nlog_level = "debug"\n',
    });
    await c.rportd.waitFor(/"msg":"file TLS fetch on the SSH port/, 10_000);
    // The README takes the log's first fingerprint as the host key's: the certificate's comes after.
    const hostKey = /host key fingerprint (SHA256:[A-Za-z0-9+/]+)/.exec(c.rportd.output())?.[1];
    expect(/SHA256:[A-Za-z0-9+/]+/.exec(c.rportd.output())?.[0]).to.equal(hostKey);
    expect((await stat(join(c.serverDataDir, 'file_tls_key.pem'))).mode & 0o777).to.equal(0o600);
    const content = randomBytes(12 * 1024 * 1024 + 5);
    const o = await pushTo(c, 'tls-1', content, 'tls/pkg.bin');
    expect(o.status, o.message).to.equal('success');
    expect(md5(await readFile(c.onHost('tls-1', 'tls/pkg.bin')))).to.equal(md5(content));
    // Served by the TLS listener, not by SFTP: its start line, and no fallback on the agent.
    await c.rportd.waitFor(/"client_id":"tls-1".*"msg":"file TLS fetch started"/, 10_000);
    expect(c.agents.get('tls-1')!.output()).to.not.contain('TLS fetch failed');
    expect(await c.filepush()).to.deep.equal([]);
    // Under [server] file_tls_min_size (4 MiB by default) a push goes by SFTP: no TLS fetch for it.
    const started = (): number => c!.rportd.output().split('"msg":"file TLS fetch started"').length - 1;
    const before = started();
    const small = randomBytes(4 * 1024 * 1024 - 1);
    const s = await pushTo(c, 'tls-1', small, 'tls/small.bin');
    expect(s.status, s.message).to.equal('success');
    expect(md5(await readFile(c.onHost('tls-1', 'tls/small.bin')))).to.equal(md5(small));
    expect(started()).to.equal(before);
  });

  it('with file_tls = false: every push by SFTP, and no certificate is made', async () => {
    c = await Cluster.start({
      agents: [{ id: 'sftp-1' }],
      serverLines: ['file_tls = false'],
      sections: '[logging]\nlog_level = "debug"\n',
    });
    const content = randomBytes(3 * 1024 * 1024 + 1);
    const o = await pushTo(c, 'sftp-1', content, 'sftp/pkg.bin');
    expect(o.status, o.message).to.equal('success');
    expect(md5(await readFile(c.onHost('sftp-1', 'sftp/pkg.bin')))).to.equal(md5(content));
    expect(c.rportd.output()).to.not.contain('file TLS');
    expect(c.agents.get('sftp-1')!.output()).to.not.contain('TLS fetch failed');
    await stat(join(c.serverDataDir, 'file_tls_key.pem')).then(
      () => expect.fail('file_tls_key.pem was made with file_tls = false'),
      (e: NodeJS.ErrnoException) => expect(e.code).to.equal('ENOENT'),
    );
  });

  it('on its own port with [server] file_tls_address', async () => {
    const tlsPort = await freePort();
    c = await Cluster.start({
      agents: [{ id: 'tls-2' }],
      serverLines: [`file_tls_address = "127.0.0.1:${tlsPort}"`],
      sections: '[logging]\nlog_level = "debug"\n',
    });
    const ready = (
      await c.rportd.waitFor(
        /"port":(\d+),"fingerprint":"(SHA256:[^"]+)","msg":"file TLS listener ready/,
        10_000,
      )
    ).slice(1);
    expect(ready[0]).to.equal(String(tlsPort));
    expect(ready[1]).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const content = randomBytes(4 * 1024 * 1024 + 3); // at least file_tls_min_size
    const o = await pushTo(c, 'tls-2', content, 'own/pkg.bin');
    expect(o.status, o.message).to.equal('success');
    expect(md5(await readFile(c.onHost('tls-2', 'own/pkg.bin')))).to.equal(md5(content));
    await c.rportd.waitFor(/"client_id":"tls-2".*"msg":"file TLS fetch started"/, 10_000);
    expect(c.agents.get('tls-2')!.output()).to.not.contain('TLS fetch failed');
  });
});
