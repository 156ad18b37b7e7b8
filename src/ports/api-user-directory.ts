import type { Caller } from '../domain/caller.ts';

/** Who may use the API: the database users, or the single `[api] auth` user. */
export interface ApiUserDirectory {
  /** The caller when the password matches; undefined otherwise. */
  authenticate(username: string, password: string): Promise<Caller | undefined>;
  /**
   * The user as they are now (undefined once removed), for a token's subject. With a stamp (the
   * one the token was issued with), undefined as well when the user's sessions were ended since.
   */
  find(username: string, stamp?: string): Promise<Caller | undefined>;
  /** The user's session stamp, put into each token issued; it changes when their password does. */
  sessionStamp?(username: string): Promise<string | undefined>;
}
