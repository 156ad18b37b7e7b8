import { expect } from 'chai';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_FEATURES } from '../../../../src/adapters/ssh/protocol.ts';
import { startAgent, startServer, tempDir, type TestAgent, type TestServer } from '../harness.ts';

describe('check and diff over the real SSH link', function () {
  this.timeout(30_000);
  let server: TestServer;
  const agents: TestAgent[] = [];
  let destDir: string;

  beforeEach(async () => {
    server = await startServer();
    destDir = await tempDir('dest');
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
    await rm(destDir, { recursive: true, force: true });
  });

  it('an agent that announces check mode answers the check with its diff; the file stays as it was', async () => {
    agents.push(await startAgent(server, 'new-agent', { features: AGENT_FEATURES }));
    const dest = join(destDir, 'app.conf');
    await writeFile(dest, 'a = 1\n');
    const [o] = await server.push(Buffer.from('a = 2\n'), ['new-agent'], dest, undefined, {
      check: true,
      diff: true,
    });
    expect(o).to.include({ status: 'success', changed: true, filepath: '', size: 0 });
    expect(o.message).to.match(/^check: would replace /);
    expect(o.diff).to.equal(`--- ${dest}\n+++ ${dest} (pushed)\n@@ -1,1 +1,1 @@\n-a = 1\n+a = 2\n`);
    expect(await readFile(dest, 'utf8')).to.equal('a = 1\n');
  });

  it('an agent that does not announce it gets no check (it would place the file): an error, the host untouched', async () => {
    agents.push(await startAgent(server, 'old-agent'));
    const dest = join(destDir, 'app.conf');
    const [o] = await server.push(Buffer.from('x\n'), ['old-agent'], dest, undefined, { check: true });
    expect(o.status).to.equal('error');
    expect(o.message).to.contain('old-agent runs an agent without check mode');
    expect(await stat(dest).catch(() => undefined)).to.equal(undefined);
  });
});
