/** The agent key a client id belongs to (docs/protocol.md, "Client keys"). */
export interface ClientKeyBinding {
  clientId: string;
  /** The agent's ed25519 public key: base64 of its 32 bytes. */
  key: string;
  /** `SHA256:<base64 without padding>` of the key's 32 bytes, for logs, the audit log and the API. */
  fingerprint: string;
  /** ISO 8601: when the id's first registration with this key bound it. */
  boundAt: string;
}

/** What a claim found: the id was free and is now bound, was bound to this key, or to another. */
export type ClaimOutcome = 'bound' | 'matched' | 'mismatch';

/** The bindings of client ids to agent keys, kept across restarts. */
export interface ClientKeys {
  keyOf(clientId: string): Promise<ClientKeyBinding | undefined>;
  /**
   * Binds the id to the key unless it is bound already, in one step: of two claims that race for a
   * free id, one binds and the other sees the first one's binding. Returns the binding in force.
   */
  claim(binding: ClientKeyBinding): Promise<{ outcome: ClaimOutcome; binding: ClientKeyBinding }>;
  /** Removes the id's binding, so that the next registration binds anew; returns the removed one. */
  release(clientId: string): Promise<ClientKeyBinding | undefined>;
}
