// Child process for crash.test.ts: starts a push whose source sends half the bytes, says so, then stalls until killed.
import { makeAgent } from './agent-fixture.ts';
import type { PushRequest } from '../../../src/domain/push-request.ts';

const [dataDir, dest] = process.argv.slice(2);
const agent = await makeAgent({ dataDir });
agent.source.open = async function* (_req: PushRequest) {
  yield Buffer.alloc(64 * 1024, 0x61);
  yield Buffer.alloc(64 * 1024, 0x62); // pulled only once the first chunk is on disk
  await new Promise(() => setInterval(() => undefined, 60_000));
};
void agent.receive.execute(
  { uuid: 'crash', sourceName: 'crash_rport_filepush', destination: dest, size: 256 * 1024, md5: '0'.repeat(32), force: true, sync: false, ownership: {} },
  (bytes) => bytes > 64 * 1024 && process.stdout.write('written\n'),
);
