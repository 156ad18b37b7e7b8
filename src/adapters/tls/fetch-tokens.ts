import { createHash, randomBytes } from 'node:crypto';
import type { PushGrants } from '../ssh/server/push-grants.ts';

/** What one token lets its bearer fetch: one live push's staged file, for the client it was sent to. */
export interface FetchGrant {
  clientId: string;
  /** The staged name (`<uuid>_rport_filepush`). */
  name: string;
  /** That client's SSH connection's grants: the file and transfer slot its SFTP sessions would share. */
  grants: PushGrants;
  /** True while the push is live for that very connection (the same test the SFTP confinement makes). */
  isLive(): boolean;
}

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');
const pushKey = (clientId: string, name: string): string => `${clientId}\0${name}`;

/**
 * The one-time tokens of the pushes live now. A token is good once: taken() forgets it before the
 * caller awaits anything, so a second stream on it, or a replay, finds nothing. A push that is settled
 * (verdict, cancel, timeout, lost connection) revokes its tokens, so a late one finds nothing either.
 * Kept by their SHA-256, so the table never holds a usable token.
 */
export class FetchTokens {
  private readonly byDigest = new Map<string, FetchGrant>();
  private readonly byPush = new Map<string, Set<string>>();

  issue(grant: FetchGrant): string {
    const token = randomBytes(32).toString('base64url');
    const d = digest(token);
    this.byDigest.set(d, grant);
    const key = pushKey(grant.clientId, grant.name);
    const set = this.byPush.get(key) ?? new Set();
    set.add(d);
    this.byPush.set(key, set);
    return token;
  }

  /** The grant of a token, which is gone from then on; undefined for an unknown, used or revoked one. */
  take(token: string): FetchGrant | undefined {
    const d = digest(token);
    const grant = this.byDigest.get(d);
    if (!grant) return undefined;
    this.forget(d, grant);
    return grant;
  }

  /** That push is over for that client: its tokens are void. */
  revoke(clientId: string, name: string): void {
    const key = pushKey(clientId, name);
    for (const d of this.byPush.get(key) ?? []) this.byDigest.delete(d);
    this.byPush.delete(key);
  }

  /** Tokens outstanding now. */
  get size(): number {
    return this.byDigest.size;
  }

  private forget(d: string, grant: FetchGrant): void {
    this.byDigest.delete(d);
    const key = pushKey(grant.clientId, grant.name);
    const set = this.byPush.get(key);
    set?.delete(d);
    if (set?.size === 0) this.byPush.delete(key);
  }
}
