// The agent's start-up failures, each worded as the rport.conf key to fix. Whatever stops the start
// exits 2, as a bad value in rport.conf does.
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { ClientConfigError } from '../../adapters/config/agent-config.ts';

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** `rport.conf [client] data_dir: "/var/lib/rport": <problem>: <reason>`. */
export const dataDirError = (dir: string, problem: string, e: unknown): ClientConfigError =>
  new ClientConfigError('[client] data_dir', `${JSON.stringify(dir)}: ${problem}: ${reasonOf(e)}`);

/** Creates `[client] data_dir` (0700) and checks that the agent can write in it, before any push needs to. */
export async function prepareDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((e: unknown) => {
    throw dataDirError(dir, 'cannot create it', e);
  });
  await access(dir, constants.W_OK | constants.X_OK).catch((e: unknown) => {
    const uid = process.getuid?.();
    throw dataDirError(dir, `the agent${uid === undefined ? '' : ` (uid ${uid})`} cannot write in it`, e);
  });
}

/** Says why the agent did not start, in one line (never a stack trace), and exits 2. */
export function startFailed(e: unknown): never {
  const what = e instanceof ClientConfigError ? e.message : `cannot start: ${reasonOf(e)}`;
  process.stderr.write(`rport: ${what}\n`);
  process.exit(2);
}
