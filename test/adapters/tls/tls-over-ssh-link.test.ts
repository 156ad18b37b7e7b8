import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_FEATURES } from '../../../src/adapters/ssh/protocol.ts';
import { startAgent, startServer, tempDir, type TestAgent, type TestServer } from '../ssh/harness.ts';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('pushes over the file TLS listener, offered on the real SSH control channel', function () {
  this.timeout(30_000);
  let server: TestServer;
  const agents: TestAgent[] = [];
  let destDir: string;
  const content = randomBytes(5 * 1024 * 1024 + 77);

  const tlsStarts = (): unknown[] =>
    server.logger.lines.filter((l) => l.message === 'file TLS fetch started').map((l) => l.fields.client_id);

  beforeEach(async () => {
    server = await startServer({ fileTls: true });
    destDir = await tempDir('dest');
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
    await rm(destDir, { recursive: true, force: true });
  });

  it('an agent announcing tls-fetch fetches over TLS; its md5 checks out and no token is left', async () => {
    agents.push(await startAgent(server, 'tls-agent', { features: AGENT_FEATURES, tls: true }));
    const dest = join(destDir, 'pkg.bin');
    const [o] = await server.push(content, ['tls-agent'], dest);
    expect(o.status, o.message).to.equal('success');
    expect(md5(await readFile(dest))).to.equal(md5(content));
    expect(tlsStarts()).to.deep.equal(['tls-agent']);
    expect(server.fileTls!.stats.tokens).to.equal(0);
  });

  it('an older agent (no tls-fetch) is offered nothing and fetches by SFTP as before', async () => {
    agents.push(await startAgent(server, 'old-agent', { tls: true }));
    const dest = join(destDir, 'pkg.bin');
    const [o] = await server.push(content, ['old-agent'], dest);
    expect(o.status, o.message).to.equal('success');
    expect(md5(await readFile(dest))).to.equal(md5(content));
    expect(tlsStarts()).to.deep.equal([]);
    expect(server.fileTls!.stats.tokens).to.equal(0);
  });

  it('when the TLS listener cannot be reached the agent falls back to SFTP and logs it; a later token is void', async () => {
    const agent = await startAgent(server, 'tls-agent', { features: AGENT_FEATURES, tls: true });
    agents.push(agent);
    await server.fileTls!.close();
    const dest = join(destDir, 'pkg.bin');
    const [o] = await server.push(content, ['tls-agent'], dest);
    expect(o.status, o.message).to.equal('success');
    expect(md5(await readFile(dest))).to.equal(md5(content));
    const warns = (): Record<string, unknown>[] =>
      agent.logger.lines
        .filter((l) => l.message === 'TLS fetch failed; fetching by SFTP instead')
        .map((l) => l.fields);
    expect(String(warns()[0]?.err)).to.match(/ECONNREFUSED/);
    expect(warns()[0].tls_passed_over_for_s).to.equal(300);
    // The push was settled: its unused token went with it.
    expect(server.fileTls!.stats.tokens).to.equal(0);
    // The next push does not try the unreachable listener again (no second connect, no second warning).
    const [again] = await server.push(content, ['tls-agent'], dest);
    expect(again.status, again.message).to.equal('success');
    expect(warns()).to.have.length(1);
  });
});
