import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsLocalFiles } from '../../src/adapters/fs/fs-local-files.ts';
import { MemoryLocalFiles } from '../../src/adapters/memory/memory-local-files.ts';
import { localFilesContract } from './local-files.contract.ts';

localFilesContract('FsLocalFiles (real filesystem in a temp dir)', async () => {
  const base = await mkdtemp(join(tmpdir(), 'rport-contract-'));
  const root = join(base, 'work');
  const files = new FsLocalFiles({ dataDir: join(base, 'data') });
  await mkdir(root);
  return { files, root, cleanup: () => rm(base, { recursive: true, force: true }) };
});

localFilesContract(
  'FsLocalFiles with md5 on a hashing thread ([file-reception] hash_thread = true)',
  async () => {
    const base = await mkdtemp(join(tmpdir(), 'rport-contract-'));
    const root = join(base, 'work');
    const files = new FsLocalFiles({ dataDir: join(base, 'data'), hashWorker: true });
    await mkdir(root);
    return { files, root, cleanup: () => rm(base, { recursive: true, force: true }) };
  },
);

localFilesContract('MemoryLocalFiles (in-memory fake)', async () => {
  const files = new MemoryLocalFiles({ dataDir: '/var/lib/rport', uid: 1000, gid: 1000 });
  files.mkdirp('/home/agent/work', { uid: 1000, gid: 1000, mode: 0o755 });
  return { files, root: '/home/agent/work', cleanup: async () => undefined };
});
