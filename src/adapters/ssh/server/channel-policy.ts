/**
 * What one agent connection may open: a capped number of sessions, each carrying the control
 * subsystem once before the hello, or SFTP after it. Everything else an SSH client could ask for
 * (forwarding, a shell, a pty, ...) is refused and counted, and too many refusals cut the
 * connection. Separate so that the whole attack surface of a logged-in connection reads in one place.
 */
import type { Connection, ServerChannel, Session, SFTPWrapper } from 'ssh2';
import type { Logger } from '../../../ports/logger.ts';
import { CONTROL_SUBSYSTEM, LEGACY_CONTROL_SUBSYSTEM } from '../protocol.ts';
import { corked, socketOf } from '../ssh-socket.ts';
import type { AgentConnection } from './agent-connection.ts';
import type { AgentListenerSettings } from './listener-settings.ts';

type PolicySettings = Pick<AgentListenerSettings, 'maxChannelsPerConnection' | 'maxRefusals'>;

const FORBIDDEN_SESSION_REQUESTS = [
  'pty',
  'x11',
  'env',
  'shell',
  'exec',
  'auth-agent',
  'signal',
  'window-change',
] as const;

/** Where the allowed channels go. */
interface AllowedChannels {
  /** The agent once its hello was taken on this connection. */
  agent(): AgentConnection | undefined;
  /** subsystem: the control subsystem's name (protocol 1's is taken only to tell its agent to upgrade). */
  control(channel: ServerChannel, subsystem: string): void;
  sftp(channel: SFTPWrapper, agent: AgentConnection): void;
}

export class ChannelPolicy {
  private refusals = 0;
  private sessions = 0;
  /**
   * One control subsystem per connection, not per session: two sessions could otherwise each open
   * one before the first hello and register two client ids, the first of them never removed.
   */
  private controlOpened = false;

  constructor(
    private readonly client: Connection,
    private readonly address: string,
    private readonly settings: PolicySettings,
    private readonly logger: Logger,
    private readonly allowed: AllowedChannels,
  ) {}

  /** Answers the connection's channel and global requests from now on. */
  enforce(): void {
    const { client } = this;
    client.on('tcpip', (_accept, reject) => (this.refuse('direct-tcpip'), reject()));
    client.on('openssh.streamlocal', (_accept, reject) => (this.refuse('direct-streamlocal'), reject()));
    client.on('request', (_accept, reject, name) => (this.refuse(name), reject?.()));
    client.on('session', (accept, reject) => {
      if (this.sessions >= this.settings.maxChannelsPerConnection)
        return (this.refuse('session beyond the channel cap'), reject());
      this.sessions += 1;
      const session = accept();
      session.once('close', () => (this.sessions -= 1));
      this.onSession(session);
    });
  }

  private refuse(what: string): void {
    this.refusals += 1;
    this.logger.warn(
      { address: this.address, client_id: this.allowed.agent()?.clientId, what },
      'refused a forbidden SSH request',
    );
    if (this.refusals > this.settings.maxRefusals) this.client.end();
  }

  private onSession(session: Session): void {
    for (const req of FORBIDDEN_SESSION_REQUESTS) {
      session.on(req, (_accept: unknown, reject?: () => void) => (this.refuse(req), reject?.()));
    }
    // One control subsystem per connection, and none once the agent said hello.
    session.on('subsystem', (accept, reject, info) => {
      const control = info.name === CONTROL_SUBSYSTEM || info.name === LEGACY_CONTROL_SUBSYSTEM;
      if (!control || this.allowed.agent() || this.controlOpened)
        return (this.refuse(`subsystem "${info.name}"`), reject());
      this.controlOpened = true;
      // The subsystem's success and the challenge that follows it leave in one write: one syscall
      // on rportd and one wake-up of the agent per connection instead of two, in every storm.
      corked(socketOf(this.client), () => this.allowed.control(accept(), info.name));
    });
    session.on('sftp', (accept, reject) => {
      const agent = this.allowed.agent();
      if (!agent) return (this.refuse('sftp before hello'), reject());
      this.allowed.sftp(accept(), agent);
    });
  }
}
