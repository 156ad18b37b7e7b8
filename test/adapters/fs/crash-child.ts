// Child process for crash.test.ts: starts a push whose source sends part of the bytes, says so, then stalls until killed.
import { rm } from 'node:fs/promises';
import { makeAgent } from './agent-fixture.ts';
import { WRITE_BATCH } from '../../../src/adapters/fs/hashing-writer.ts';
import type { PushRequest } from '../../../src/domain/push-request.ts';

const [dataDir, dest] = process.argv.slice(2);
const agent = await makeAgent({ dataDir });
// This process is killed, so it never cleans up: the fixture's own temp root is not used here (the
// parent's dataDir is), and goes now.
await rm(agent.root, { recursive: true, force: true });
// Writes go out in batches of WRITE_BATCH, one in flight: the chunk after two batches is pulled only
// once the first batch is on disk.
const CHUNK = 64 * 1024;
agent.source.open = async function* (_req: PushRequest) {
  for (let i = 0; i < (2 * WRITE_BATCH) / CHUNK + 8; i++) yield Buffer.alloc(CHUNK, 0x61 + (i % 26));
  await new Promise(() => setInterval(() => undefined, 60_000));
};
void agent.receive.execute(
  {
    uuid: 'crash',
    sourceName: 'crash_rport_filepush',
    destination: dest,
    size: 4 * WRITE_BATCH,
    md5: '0'.repeat(32),
    force: true,
    sync: false,
    ownership: {},
  },
  (bytes) => bytes > 2 * WRITE_BATCH + CHUNK && process.stdout.write('written\n'),
);
