import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isPlainAccountName } from '../../domain/ownership.ts';
import { fsError } from './fs-errors.ts';

type AccountKind = 'user' | 'group';

/**
 * uid or gid of a user or group name. Asks `getent` (argv, no shell) so NSS sources such as LDAP
 * count; falls back to /etc/passwd and /etc/group where getent is missing. A numeric name that is
 * no account is taken as the id itself, as chown(1) does.
 */
export async function lookupAccountId(kind: AccountKind, name: string): Promise<number> {
  if (!isPlainAccountName(name)) throw fsError('EINVAL', `${kind} "${name}" is not a plain account name`);
  const database = kind === 'user' ? 'passwd' : 'group';
  const entry = await getent(database, name);
  if (entry !== undefined) return entry;
  if (/^[0-9]+$/.test(name)) return Number(name);
  throw fsError('ENOENT', `${kind} "${name}" does not exist on this host (no ${database} entry)`);
}

function getent(database: string, name: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    execFile('getent', [database, '--', name], { timeout: 10_000 }, (error, stdout) => {
      if (!error) return resolve(idField(stdout.split('\n')[0]));
      // execFile's code is the spawn error ('ENOENT': no getent here) or the exit status.
      const code: unknown = (error as { code?: unknown }).code;
      if (code === 'ENOENT') return void fromFiles(database, name).then(resolve, reject);
      if (code === 2) return resolve(undefined); // getent: key not found
      reject(fsError('EIO', `looking up ${database} entry "${name}" with getent failed: ${error.message}`));
    });
  });
}

async function fromFiles(database: string, name: string): Promise<number | undefined> {
  const text = await readFile(`/etc/${database}`, 'utf8');
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  const line = lines.find((l) => l.split(':')[0] === name) ?? lines.find((l) => l.split(':')[2] === name);
  return line === undefined ? undefined : idField(line);
}

function idField(line: string | undefined): number | undefined {
  const id = line?.split(':')[2];
  return id !== undefined && /^[0-9]+$/.test(id) ? Number(id) : undefined;
}
