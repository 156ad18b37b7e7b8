import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReception } from '../../../src/composition/rport/container.ts';
import { DEFAULT_PROTECTED_POSIX } from '../../../src/domain/protected-paths.ts';
import { stagedName } from '../../../src/domain/push-request.ts';

describe("client-root buildReception (the agent's ReceiveFile without the SSH link)", () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'rport-reception-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));

  const build = (enabled = true) =>
    buildReception(
      {
        servers: ['127.0.0.1:1'],
        fingerprint: 'unused',
        credentialId: 'unused',
        password: 'unused',
        id: 'a1',
        name: 'a1',
        tags: [],
        dataDir: join(root, 'data'),
        hashThread: false,
        fileReception: {
          enabled,
          protected: DEFAULT_PROTECTED_POSIX,
          backup: false,
          allowSpecialBits: false,
        },
      },
      {
        open: async function* () {
          yield Buffer.from('the bytes');
        },
      },
    );
  const request = (destination: string) => ({
    uuid: 'u1',
    sourceName: stagedName('u1'),
    destination,
    size: 9,
    md5: createHash('md5').update('the bytes').digest('hex'),
    force: false,
    sync: false,
    ownership: {},
  });

  it('wired as the agent is: the file lands with the default mode 0764 and no temp file is left', async () => {
    const receive = await build();
    const dest = join(root, 'out/f.txt');
    const v = await receive.execute(request(dest));
    expect(v.status, v.message).to.equal('success');
    expect(await readFile(dest, 'utf8')).to.equal('the bytes');
    expect((await stat(dest)).mode & 0o7777).to.equal(0o764);
    expect(await readdir(join(root, 'data/filepush'))).to.deep.equal([]);
  });

  it('with the [file-reception] settings of the config: a protected path is refused, a disabled agent refuses all', async () => {
    const refused = await (await build()).execute(request('/usr/bin/rport-test-never'));
    expect(refused.status).to.equal('error');
    expect(refused.message).to.contain('protected path');
    const off = await (await build(false)).execute(request(join(root, 'g.txt')));
    expect(off.status).to.equal('error');
    expect(off.message).to.contain('enabled = false');
  });
});
