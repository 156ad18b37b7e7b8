/**
 * An agent's SSH login: password only, checked against the client credentials. LoginPenalties
 * decides on each attempt before its password is checked (per address, and per address and
 * credential id), and failures are capped per connection. Separate because it is the one part that
 * decides who gets in; the rest of the listener only sees logged-in agents.
 */
import type { AuthContext, Connection } from 'ssh2';
import type { ClientCredentials } from '../../../ports/client-credentials.ts';
import type { Logger } from '../../../ports/logger.ts';
import { messageOf } from '../../../domain/errors.ts';
import { LoginPenalties, type Refusal } from '../../auth/login-penalties.ts';
import type { CredentialSessions } from './credential-sessions.ts';
import type { AgentListenerSettings } from './listener-settings.ts';

type LoginSettings = Pick<AgentListenerSettings, 'auth' | 'maxAuthFailuresPerConnection'>;

/** Longest wait before a counted failure is answered, in penalty steps (`auth.failureDelayMs`). */
const MAX_ANSWER_DELAY_STEPS = 4;

export class AgentLogin {
  readonly penalties: LoginPenalties;

  constructor(
    private readonly settings: LoginSettings,
    private readonly credentials: ClientCredentials,
    private readonly sessions: CredentialSessions,
    private readonly logger: Logger,
  ) {
    this.penalties = new LoginPenalties(settings.auth, logger);
  }

  /**
   * An address whose every credential id is inside a penalty is dropped at accept, which saves the
   * key exchange; a penalty of one credential id is only known once the login names it.
   */
  isBanned(address: string): boolean {
    return this.penalties.isPenalised(address);
  }

  /** Answers the connection's login attempts, counting its failures. */
  attach(client: Connection, address: string): void {
    let failures = 0;
    let open = true;
    client.once('close', () => (open = false));
    client.on(
      'authentication',
      (ctx: AuthContext) =>
        void this.authenticate(
          ctx,
          address,
          client,
          () => open,
          () => (failures += 1),
        ),
    );
  }

  private async authenticate(
    ctx: AuthContext,
    address: string,
    client: Connection,
    open: () => boolean,
    countFailure: () => number,
  ): Promise<void> {
    if (ctx.method !== 'password') return ctx.reject(['password']);
    const attempt = await this.penalties.attempt(address, ctx.username, ctx.password, open);
    let refusal: Refusal;
    if ('check' in attempt) {
      const ok = await this.verify(ctx.username, ctx.password);
      const failed = attempt.check(ok);
      if (!failed) {
        this.sessions.loggedIn(ctx.username, client);
        return ctx.accept();
      }
      refusal = failed;
    } else refusal = attempt.refused;
    if (!open()) return;
    const failures = countFailure();
    // Inside a penalty, or banned, or out of tries: no answer would help, and the handshake slot is wanted.
    if (!refusal.counted || refusal.banned || failures >= this.settings.maxAuthFailuresPerConnection) {
      client.end();
      return;
    }
    // A client that retries at once on this connection would meet the penalty: it waits it out here.
    const cap = MAX_ANSWER_DELAY_STEPS * this.settings.auth.failureDelayMs;
    await new Promise((resolve) => setTimeout(resolve, Math.min(refusal.retryAfterMs, cap)));
    if (open()) ctx.reject(['password']);
  }

  /** True or false; undefined when the credentials could not be checked. */
  private async verify(id: string, password: string): Promise<boolean | undefined> {
    const mark = this.sessions.mark();
    try {
      const ok = await this.credentials.verify(id, password);
      // Removed while its password was being checked (scrypt takes a while): the check saw it still there.
      return ok && !this.sessions.removedSince(id, mark);
    } catch (e) {
      this.logger.error({ err: messageOf(e) }, 'checking client credentials failed');
      return undefined;
    }
  }
}
