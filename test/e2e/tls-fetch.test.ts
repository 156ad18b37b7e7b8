import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster } from './helpers/cluster.ts';
import { freePort } from './helpers/processes.ts';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('e2e: a push fetched over rportd file TLS listener ([server] file_tls_address), processes as shipped', function () {
  this.timeout(60_000);
  let c: Cluster;

  before(async () => {
    const tlsPort = await freePort();
    c = await Cluster.start({
      agents: [{ id: 'tls-1' }],
      maxFilepushSize: 64 * 1024 * 1024,
      serverLines: [`file_tls_address = "127.0.0.1:${tlsPort}"`],
      sections: '[logging]\nlog_level = "debug"\n',
    });
  });
  after(async () => c?.stop());

  it('makes its certificate in data_dir and the agent fetches over TLS: md5 matches, nothing left staged', async () => {
    const ready = (
      await c.rportd.waitFor(/"fingerprint":"(SHA256:[^"]+)","msg":"file TLS listener ready/, 10_000)
    )[1];
    expect((await stat(join(c.serverDataDir, 'file_tls_key.pem'))).mode & 0o777).to.equal(0o600);
    const content = randomBytes(12 * 1024 * 1024 + 5);
    const listener = await c.listen();
    try {
      const res = await c.upload({ name: 'upload', filename: 'pkg.bin', content }, [
        ['client_id', 'tls-1'],
        ['dest', c.dest('tls/pkg.bin')],
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const uuid = (res.body.data as { uuid: string }).uuid;
      const [o] = await listener.outcomesOf(uuid, 1);
      expect(o.status, o.message).to.equal('success');
    } finally {
      listener.close();
    }
    expect(md5(await readFile(c.onHost('tls-1', 'tls/pkg.bin')))).to.equal(md5(content));
    await c.rportd.waitFor(/"client_id":"tls-1".*"msg":"file TLS fetch started"/, 10_000);
    expect(c.agents.get('tls-1')!.output()).to.not.contain('TLS fetch failed');
    expect(ready).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(await c.filepush()).to.deep.equal([]);
  });
});
