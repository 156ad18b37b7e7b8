/**
 * An agent's SSH login: password only, checked against the client credentials, with failures
 * slowed and banned per address (AuthGuard) and capped per connection. Separate because it is the
 * one part that decides who gets in; the rest of the listener only sees logged-in agents.
 */
import type { AuthContext, Connection } from 'ssh2';
import type { ClientCredentials } from '../../../ports/client-credentials.ts';
import type { Logger } from '../../../ports/logger.ts';
import { messageOf } from '../../../domain/errors.ts';
import { AuthGuard } from '../../auth/auth-guard.ts';
import type { CredentialSessions } from './credential-sessions.ts';
import type { AgentListenerSettings } from './listener-settings.ts';

type LoginSettings = Pick<AgentListenerSettings, 'auth' | 'maxAuthFailuresPerConnection'>;

export class AgentLogin {
  private readonly guard: AuthGuard;

  constructor(
    private readonly settings: LoginSettings,
    private readonly credentials: ClientCredentials,
    private readonly sessions: CredentialSessions,
    private readonly logger: Logger,
  ) {
    this.guard = new AuthGuard(settings.auth);
  }

  /** A banned address is dropped at accept, before any handshake. */
  isBanned(address: string): boolean {
    return this.guard.isBanned(address);
  }

  /** Answers the connection's login attempts, counting its failures. */
  attach(client: Connection, address: string): void {
    let failures = 0;
    client.on(
      'authentication',
      (ctx: AuthContext) => void this.authenticate(ctx, address, () => (failures += 1), client),
    );
  }

  private async authenticate(
    ctx: AuthContext,
    address: string,
    countFailure: () => number,
    client: Connection,
  ): Promise<void> {
    if (ctx.method !== 'password') return ctx.reject(['password']);
    let ok = false;
    const mark = this.sessions.mark();
    try {
      ok = await this.credentials.verify(ctx.username, ctx.password);
      // Removed while its password was being checked (scrypt takes a while): the check saw it still there.
      if (ok && this.sessions.removedSince(ctx.username, mark)) ok = false;
    } catch (e) {
      this.logger.error({ err: messageOf(e) }, 'checking client credentials failed');
    }
    if (ok) {
      this.guard.succeeded(address);
      this.sessions.loggedIn(ctx.username, client);
      return ctx.accept();
    }
    this.logger.warn({ address, credential_id: ctx.username }, 'client login failed');
    const failures = countFailure();
    await this.guard.failed(address);
    if (this.guard.isBanned(address) || failures >= this.settings.maxAuthFailuresPerConnection) {
      client.end();
      return;
    }
    ctx.reject(['password']);
  }
}
