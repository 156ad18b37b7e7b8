import type { Duplex } from 'node:stream';
import type { Connection } from 'ssh2';

/** The stream an ssh2 server connection runs on: ssh2 keeps it in a private field (read on purpose). */
export const socketOf = (client: Connection): Duplex => (client as unknown as { _sock: Duplex })._sock;

/** Runs send with the stream corked, so the SSH packets it writes leave in one write (one syscall, not one each). */
export function corked<T>(stream: Duplex | undefined, send: () => T): T {
  if (!stream) return send();
  stream.cork();
  try {
    return send();
  } finally {
    stream.uncork();
  }
}
