import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JWT_SECRET_FILE, loadOrCreateJwtSecret } from '../../../src/adapters/config/server-jwt-secret.ts';
import { BIN, freePort, Proc, requireBuilt } from '../../e2e/helpers/processes.ts';

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
const octal = (m: number): string => `0${m.toString(8)}`;

// rportd's data_dir holds password hashes, the audit log, the JWT secret and the host key: nothing
// in it may be readable by other users, whatever the umask let through.
describe('rportd: the files in data_dir are not readable by other users', function () {
  this.timeout(60_000);
  let dir: string;
  let umask: number;
  beforeEach(async () => {
    umask = process.umask(0o022);
    dir = await mkdtemp(join(tmpdir(), 'rportd-modes-'));
  });
  afterEach(async () => {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts bin/rportd.js on dataDir, returns the modes of what it made, and stops it by pid. */
  async function modesAfterStart(dataDir: string): Promise<Record<string, string>> {
    requireBuilt();
    const conf = join(dir, 'rportd.conf');
    await writeFile(
      conf,
      `[server]\naddress = "127.0.0.1:${await freePort()}"\ndata_dir = "${dataDir}"\n[api]\naddress = "127.0.0.1:0"\n`,
    );
    const rportd = new Proc('rportd', BIN.rportd, ['--config', conf]);
    try {
      await rportd.waitFor(/rportd API listening on/, 30_000);
      await rportd.waitFor(/host key fingerprint/, 30_000);
      const modes: Record<string, string> = { data_dir: octal(await modeOf(dataDir)) };
      for (const f of ['rportd.db', 'rportd.db-wal', 'rportd.db-shm', JWT_SECRET_FILE, 'rportd_host_key'])
        modes[f] = octal(await modeOf(join(dataDir, f)));
      return modes;
    } finally {
      expect(await rportd.stop(), 'exit code on SIGTERM').to.equal(0);
    }
  }

  const PRIVATE = {
    data_dir: '0700',
    'rportd.db': '0600',
    'rportd.db-wal': '0600',
    'rportd.db-shm': '0600',
    [JWT_SECRET_FILE]: '0600',
    rportd_host_key: '0600',
  };

  it('first start: data_dir 0700; rportd.db, its -wal and -shm, jwt_secret and the host key 0600', async () => {
    expect(await modesAfterStart(join(dir, 'data'))).to.deep.equal(PRIVATE);
  });

  it('a data_dir, database and secret an older version left open are tightened at start', async () => {
    const dataDir = join(dir, 'old');
    await mkdir(dataDir);
    await writeFile(join(dataDir, JWT_SECRET_FILE), randomBytes(32).toString('hex') + '\n', { mode: 0o644 });
    await writeFile(join(dataDir, 'rportd.db'), '', { mode: 0o644 }); // an empty file is an empty database
    await chmod(dataDir, 0o755);
    expect(await modesAfterStart(dataDir)).to.deep.equal(PRIVATE);
  });

  it('loadOrCreateJwtSecret: a secret too short to keep is replaced by one in a 0600 file', async () => {
    const path = join(dir, JWT_SECRET_FILE);
    await writeFile(path, 'short\n', { mode: 0o644 });
    await chmod(path, 0o644);
    const secret = new TextDecoder().decode(loadOrCreateJwtSecret(dir));
    expect(secret).to.match(/^[0-9a-f]{64}$/);
    expect((await readFile(path, 'utf8')).trim()).to.equal(secret);
    expect(octal(await modeOf(path))).to.equal('0600');
  });
});
