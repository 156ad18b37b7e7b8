import type { SFTPWrapper } from 'ssh2';

/** One transfer's use of an SFTP session: release() when the transfer is over (the session stays open). */
export interface SftpLease {
  sftp: SFTPWrapper;
  release(): void;
}

/** Transfers one session carries at once: the server's open-handle limit per session (confined-sftp.ts). */
export const TRANSFERS_PER_SESSION = 4;

interface Session {
  ready: Promise<SFTPWrapper>;
  users: number;
  sftp?: SFTPWrapper;
}

/**
 * The SFTP sessions of one SSH connection, kept open across pushes. Opening a session costs three
 * round trips (channel open, subsystem request, SFTP version) and a channel close after, for every
 * push; in a fan-out to many agents those round trips were a large part of each push
 * (docs/benchmarks.md, fan-out). A session carries up to TRANSFERS_PER_SESSION transfers at once;
 * more open another one, and a session left idle while another is open is closed.
 * A session that closes (the server ended it, the connection dropped) is forgotten; the next lease opens anew.
 */
export class SftpSessions {
  private readonly sessions: Session[] = [];

  constructor(private readonly open: () => Promise<SFTPWrapper>) {}

  lease(): Promise<SftpLease> {
    const session = this.sessions.find((s) => s.users < TRANSFERS_PER_SESSION) ?? this.start();
    session.users += 1;
    return session.ready.then(
      (sftp) => ({ sftp, release: once(() => this.release(session)) }),
      (e: unknown) => {
        session.users -= 1;
        throw e;
      },
    );
  }

  /** Sessions open or opening now (tests and diagnostics). */
  get count(): number {
    return this.sessions.length;
  }

  private start(): Session {
    const session: Session = { users: 0, ready: this.open() };
    this.sessions.push(session);
    session.ready.then(
      (sftp) => {
        session.sftp = sftp;
        sftp.once('close', () => this.forget(session));
      },
      () => this.forget(session),
    );
    return session;
  }

  private release(session: Session): void {
    session.users -= 1;
    if (session.users === 0 && this.sessions.some((s) => s !== session)) {
      this.forget(session);
      session.sftp?.end();
    }
  }

  private forget(session: Session): void {
    const i = this.sessions.indexOf(session);
    if (i >= 0) this.sessions.splice(i, 1);
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}
