import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether the openssl CLI is here; under CI=true its absence is a failure, locally a loud skip. */
export async function haveOpenssl(tests: string): Promise<boolean> {
  try {
    await run('openssl', ['version']);
    return true;
  } catch {
    if (process.env.CI === 'true')
      throw new Error(`openssl is required for ${tests} (apt-get install -y openssl)`);
    console.warn(`\n      !!! SKIPPING ${tests}: the openssl CLI is not installed\n`);
    return false;
  }
}

/** A self-signed certificate (files `<name>.pem`, `<name>.key` in dir) whose subjectAltName is san. */
export async function selfSigned(
  dir: string,
  name = 'server',
  san = 'IP:127.0.0.1',
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=rport test',
    '-addext',
    `subjectAltName=${san}`,
  ]);
  return { cert, key };
}
