// A real agent in its own process, so that tests can kill -9 it and measure its memory.
import { startAgent } from './harness.ts';

const { port, fingerprint, id, dataDir } = JSON.parse(process.env.RPORT_TEST_AGENT ?? '{}') as {
  port: number;
  fingerprint: string;
  id: string;
  dataDir: string;
};
await startAgent({ port, fingerprint }, id, { dataDir });
process.stdout.write('connected\n');
process.on('SIGTERM', () => process.exit(0));
