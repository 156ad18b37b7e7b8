// Bundled by sudo-privileged.test.ts and run as the unprivileged `rport` user: one real push through
// ReceiveFile with FsLocalFiles and SudoPrivilegedFiles; prints the verdict as JSON.
import { createHash } from 'node:crypto';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';
import { SudoPrivilegedFiles } from '../../../src/adapters/sudo/sudo-privileged-files.ts';
import { ApplyOwnership } from '../../../src/domain/apply-ownership.ts';
import { ProtectedPaths } from '../../../src/domain/protected-paths.ts';
import type { PushRequest } from '../../../src/domain/push-request.ts';
import { ReceiveFile } from '../../../src/domain/receive-file.ts';

interface Job {
  dataDir: string;
  body: string;
  request: Omit<PushRequest, 'size' | 'md5'>;
}

const job = JSON.parse(process.argv[2]) as Job;
const bytes = Buffer.from(job.body);
const files = new FsLocalFiles({ dataDir: job.dataDir });
const privileged = new SudoPrivilegedFiles({ dataDir: job.dataDir });
const source = {
  async *open(): AsyncIterable<Uint8Array> {
    yield bytes;
  },
};
const clock = { now: () => new Date(), sleep: () => Promise.resolve() };
const receive = new ReceiveFile(
  files,
  source,
  privileged,
  new ApplyOwnership(files, privileged),
  {
    enabled: true,
    protectedPaths: ProtectedPaths.defaults('posix'),
    flavor: 'posix',
    backup: false,
    allowSpecialBits: false,
  },
  clock,
);
const verdict = await receive.execute({
  ...job.request,
  size: bytes.length,
  md5: createHash('md5').update(bytes).digest('hex'),
});
process.stdout.write(JSON.stringify(verdict) + '\n');
