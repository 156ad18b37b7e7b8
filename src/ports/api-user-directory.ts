import type { Caller } from '../domain/caller.ts';

/** Who may use the API: the database users, or the single `[api] auth` user. */
export interface ApiUserDirectory {
  /** The caller when the password matches; undefined otherwise. */
  authenticate(username: string, password: string): Promise<Caller | undefined>;
  /** The user as they are now (undefined once removed), for a token's subject. */
  find(username: string): Promise<Caller | undefined>;
}
