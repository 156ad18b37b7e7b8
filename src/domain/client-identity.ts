import type { AuditLog } from '../ports/audit-log.ts';
import type { ClientKeyBinding, ClientKeys } from '../ports/client-keys.ts';
import type { Clock } from '../ports/clock.ts';

/** What one hello claims: this connection's agent, holding this key, is this client id. */
export interface IdentityClaim {
  clientId: string;
  /** The agent's public key as the hello carries it. */
  key: string;
  fingerprint: string;
  /** The hello's proof (a signature over this connection's challenge) verified with that key. */
  proven: boolean;
  /** The client credential the connection logged in with. */
  credentialId: string;
  address: string;
  /** Another connection holds the id now. */
  online: boolean;
}

export type Admission =
  | { admitted: true; binding: ClientKeyBinding; firstBinding: boolean }
  | { admitted: false; message: string; audited: boolean };

/**
 * Server: a client id belongs to the agent key that first registered it. A hello whose key does not
 * prove itself, or that brings another key for a bound id, is refused and audited, whether or not
 * the id's agent is online; the client's stored facts change only once a hello is admitted. An
 * admin releases a binding when a host is reinstalled (new key).
 */
export class ClientIdentity {
  constructor(
    private readonly keys: ClientKeys,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async admit(c: IdentityClaim): Promise<Admission> {
    if (!c.proven) {
      await this.record('hello-refused', c, { reason: 'proof', presented_key: c.fingerprint });
      return {
        admitted: false,
        audited: true,
        message:
          `hello.proof does not verify with hello.key (${c.fingerprint}) over this connection's challenge; ` +
          `client id ${c.clientId} refused`,
      };
    }
    const existing = await this.keys.keyOf(c.clientId);
    if (existing && existing.key !== c.key) return this.mismatch(c, existing);
    if (existing) return { admitted: true, binding: existing, firstBinding: false };
    // A free id held by a live connection (its binding was released meanwhile): the next hello after it
    // leaves binds, so that a release never hands the id of a connected agent to another key.
    if (c.online) return { admitted: false, audited: false, message: alreadyConnected(c.clientId) };
    const { outcome, binding } = await this.keys.claim({
      clientId: c.clientId,
      key: c.key,
      fingerprint: c.fingerprint,
      boundAt: this.clock.now().toISOString(),
    });
    if (outcome === 'mismatch') return this.mismatch(c, binding);
    if (outcome === 'bound') await this.record('key-bound', c, { key: c.fingerprint });
    return { admitted: true, binding, firstBinding: outcome === 'bound' };
  }

  /** Frees the id for the next agent key that registers it; undefined when it was not bound. */
  async release(clientId: string, by: string): Promise<ClientKeyBinding | undefined> {
    const released = await this.keys.release(clientId);
    if (released)
      await this.audit.record({
        timestamp: this.clock.now(),
        application: 'clients',
        action: 'key-released',
        username: by,
        client_id: clientId,
        request: { key: released.fingerprint, bound_at: released.boundAt },
      });
    return released;
  }

  keyOf(clientId: string): Promise<ClientKeyBinding | undefined> {
    return this.keys.keyOf(clientId);
  }

  private async mismatch(c: IdentityClaim, bound: ClientKeyBinding): Promise<Admission> {
    await this.record('key-mismatch', c, { presented_key: c.fingerprint, bound_key: bound.fingerprint });
    return {
      admitted: false,
      audited: true,
      message:
        `client id ${c.clientId} belongs to another agent key (${bound.fingerprint}); this agent's key is ` +
        `${c.fingerprint}. If the host was reinstalled, an admin releases the id with ` +
        `\`rportcli clients release-key ${c.clientId}\` (DELETE /api/v1/clients/${c.clientId}/key)`,
    };
  }

  private record(action: string, c: IdentityClaim, details: Record<string, unknown>): Promise<void> {
    return this.audit.record({
      timestamp: this.clock.now(),
      application: 'clients',
      action,
      username: c.credentialId,
      client_id: c.clientId,
      request: { ...details, address: c.address, online: c.online },
    });
  }
}

const alreadyConnected = (id: string): string => `client id ${id} is already connected`;
