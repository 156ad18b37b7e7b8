import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ADMIN_GROUP, type Caller } from '../../domain/caller.ts';
import type { ClientCredentials } from '../../ports/client-credentials.ts';
import { ConfigError } from './server-config-values.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
/** Equal-length digests, so the comparison takes the same time whatever the input. */
const same = (a: Buffer, b: Buffer): boolean => timingSafeEqual(a, b);

/** Credentials held in memory as digests, from `[server] auth` or `auth_file`; compared in constant time. */
export class StaticCredentials implements ClientCredentials {
  private readonly digests = new Map<string, Buffer>();
  private readonly nobody = digest('\0no such credential');

  constructor(pairs: { id: string; password: string }[]) {
    for (const p of pairs) this.digests.set(p.id, digest(p.password));
  }

  get size(): number {
    return this.digests.size;
  }

  async verify(credentialId: string, password: string): Promise<boolean> {
    const known = this.digests.get(credentialId);
    const ok = same(known ?? this.nobody, digest(password));
    return ok && known !== undefined;
  }
}

/** Reads an auth_file: one `id:password` per line; blank lines and lines starting with # are skipped. */
export function readAuthFile(path: string): { id: string; password: string }[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`[server] auth_file: cannot read ${path}: ${(e as Error).message}`);
  }
  const pairs: { id: string; password: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const c = line.indexOf(':');
    if (c <= 0 || c === line.length - 1)
      throw new ConfigError(`[server] auth_file: ${path} line ${i + 1} is not "id:password"`);
    pairs.push({ id: line.slice(0, c), password: line.slice(c + 1) });
  });
  if (pairs.length === 0) throw new ConfigError(`[server] auth_file: ${path} holds no "id:password" line`);
  return pairs;
}

/** The single API user of `[api] auth = "user:password"`: an administrator. */
export class StaticApiUser {
  private readonly credentials: StaticCredentials;
  private readonly caller: Caller;

  constructor(pair: { id: string; password: string }) {
    this.credentials = new StaticCredentials([pair]);
    this.caller = { username: pair.id, admin: true, groups: [ADMIN_GROUP] };
  }

  async authenticate(username: string, password: string): Promise<Caller | undefined> {
    return (await this.credentials.verify(username, password)) ? this.caller : undefined;
  }

  async find(username: string): Promise<Caller | undefined> {
    return username === this.caller.username ? this.caller : undefined;
  }
}
