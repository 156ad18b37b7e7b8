/** Client credentials (`[server] auth`, `auth_file`, or the database), checked in constant time. */
export interface ClientCredentials {
  verify(credentialId: string, password: string): Promise<boolean>;
}

/** Client credentials the API may list and change: the database's. */
export interface ClientCredentialEditor {
  /** Credential ids, sorted. */
  list(): Promise<string[]>;
  /** False when the id exists already. */
  add(id: string, password: string): Promise<boolean>;
  /** False when there was no such id. */
  remove(id: string): Promise<boolean>;
}
