import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import ssh2, { type Attributes, type SFTPWrapper } from 'ssh2';
import type { Logger } from '../../../ports/logger.ts';
import { STAGED_SUFFIX } from '../../../domain/push-request.ts';
import { MAX_READ } from '../protocol.ts';
import type { Grant, GrantedFile, PushGrants } from './push-grants.ts';
import type { ReadBuffers } from './read-buffers.ts';

const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;

interface ConfinedSftpOptions {
  clientId: string;
  /** True while a push of that staged name is live for this very connection. */
  isLive(stagedName: string): boolean;
  /** The connection's grants: one open file and one transfer slot per live push, shared by its sessions. */
  grants: PushGrants;
  /** READ buffers shared by all sessions (MAX_READ bytes each): bounds the file bytes held server-wide. */
  buffers: ReadBuffers;
  logger: Logger;
  /** Told the size of each READ answer once ssh2 has taken it (rportd paces its scavenges by it). */
  sent?: (bytes: number) => void;
  /** Runs send with the connection's socket corked: the READ answers it writes leave in one write, not one each. */
  corked?: (send: () => void) => void;
}

/** Reads served at once per session; with MAX_READ this bounds a session's read buffers to ~2 MiB. */
const READS_IN_FLIGHT = 8;
/** READ requests waiting beyond those; more is a misbehaving client. */
const READS_QUEUED = 64;
/** Open handles per session (docs/protocol.md), counted when the OPEN arrives, before any await. */
export const MAX_HANDLES = 4;
/** Bytes ssh2 may hold for a client that stops taking data before we end its session. */
const MAX_BUFFERED_OUT = 8 * 1024 * 1024;
const STAGED_NAME = new RegExp(`^[A-Za-z0-9-]{1,64}${STAGED_SUFFIX}$`);

interface OpenFile extends GrantedFile {
  name: string;
  grant: Grant;
  /** Stops hearing of the grant's end (the handle closed first). */
  unwatch: () => void;
}

/** The staged name a path refers to ("/<name>" or "<name>"), or undefined for anything else. */
function stagedNameOf(path: string): string | undefined {
  const name = path.startsWith('/') ? path.slice(1) : path;
  return STAGED_NAME.test(name) ? name : undefined;
}

/** Bytes ssh2's SFTP object holds because the channel window is full (private field, read on purpose). */
const bufferedOut = (sftp: SFTPWrapper): number =>
  ((sftp as unknown as { _buffer?: Buffer[] })._buffer ?? []).reduce((n, b) => n + b.length, 0);

const attrsOf = (s: Stats): Attributes => ({
  mode: s.mode,
  uid: 0,
  gid: 0,
  size: s.size,
  atime: Math.floor(s.atimeMs / 1000),
  mtime: Math.floor(s.mtimeMs / 1000),
});

/**
 * A read-only SFTP server that serves one thing: the staged files of the pushes live for this
 * connection. Every other request is refused; the session never touches another path.
 */
export function serveConfinedSftp(sftp: SFTPWrapper, o: ConfinedSftpOptions): void {
  const handles = new Map<string, OpenFile>();
  /** OPENs counted against MAX_HANDLES whose grant is not ready yet. */
  let opening = 0;
  let closed = false;
  let reading = 0;
  const queue: (() => void)[] = [];
  const deny = (reqid: number, why: string): void => {
    o.logger.warn({ client_id: o.clientId, why }, 'SFTP request refused');
    sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, why);
  };
  const guard = (): boolean => {
    if (bufferedOut(sftp) <= MAX_BUFFERED_OUT) return true;
    o.logger.warn({ client_id: o.clientId }, 'SFTP client stopped taking data; session ended');
    sftp.end();
    return false;
  };
  const fileOf = (handle: Buffer): OpenFile | undefined => handles.get(handle.toString('hex'));

  sftp.on('OPEN', (reqid, filename, flags) => {
    if (!guard()) return;
    if (flags !== OPEN_MODE.READ) return deny(reqid, 'read-only: only the read flag is allowed');
    const name = stagedNameOf(filename);
    if (!name || !o.isLive(name)) return deny(reqid, `no live push of ${filename} for this client`);
    if (handles.size + opening >= MAX_HANDLES)
      return sftp.status(reqid, STATUS_CODE.FAILURE, 'too many open handles');
    opening += 1;
    const grant = o.grants.take(name);
    grant.ready.then(
      (file) => {
        opening -= 1;
        if (closed || grant.revoked || !o.isLive(name)) {
          o.grants.give(grant);
          return void (!closed && deny(reqid, 'the push is no longer live'));
        }
        const id = randomBytes(16).toString('hex');
        // The grant can end under the handle (verdict, timeout): the handle dies with it.
        const unwatch = o.grants.onRevoke(grant, () => handles.delete(id));
        handles.set(id, { ...file, name, grant, unwatch });
        sftp.handle(reqid, Buffer.from(id, 'hex'));
      },
      (e: unknown) => {
        opening -= 1;
        o.grants.give(grant);
        if (closed) return;
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        sftp.status(reqid, missing ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.PERMISSION_DENIED);
      },
    );
  });

  sftp.on('READ', (reqid, handle, offset, length) => {
    if (!guard()) return;
    const file = fileOf(handle);
    if (!file) return sftp.status(reqid, STATUS_CODE.FAILURE, 'invalid handle');
    if (length > MAX_READ)
      return sftp.status(reqid, STATUS_CODE.FAILURE, `read length ${length} exceeds ${MAX_READ}`);
    if (!o.isLive(file.name)) return deny(reqid, 'the push is no longer live');
    if (queue.length >= READS_QUEUED)
      return sftp.status(reqid, STATUS_CODE.FAILURE, 'too many outstanding reads');
    queue.push(
      file.held
        ? () => serveHeld(reqid, file.held!.bytes, offset, length)
        : () => void serveRead(reqid, file, offset, length),
    );
    pump();
  });

  const pump = (): void => (o.corked ? o.corked(serveQueued) : serveQueued());
  const serveQueued = (): void => {
    while (!closed && reading < READS_IN_FLIGHT && queue.length > 0) {
      // Back-pressure: serve no more while ssh2 still holds data the client has not taken.
      if (bufferedOut(sftp) > READS_IN_FLIGHT * MAX_READ) {
        setTimeout(pump, 5);
        return;
      }
      reading += 1;
      queue.shift()!();
    }
  };

  /** A READ of a held file, answered at once from memory (sftp.data copies the bytes into its packet). */
  const serveHeld = (reqid: number, bytes: Buffer, offset: number, length: number): void => {
    reading -= 1;
    if (offset >= bytes.length) return void sftp.status(reqid, STATUS_CODE.EOF);
    const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + length));
    sftp.data(reqid, chunk);
    o.sent?.(chunk.length);
  };

  const serveRead = async (reqid: number, file: OpenFile, offset: number, length: number): Promise<void> => {
    const buf = await o.buffers.take();
    try {
      const { bytesRead } = await file.fh!.read(buf, 0, length, offset);
      if (closed) return;
      // sftp.data copies the bytes into its packet, so the buffer goes back to the pool right after.
      if (bytesRead === 0) sftp.status(reqid, STATUS_CODE.EOF);
      else {
        sftp.data(reqid, buf.subarray(0, bytesRead));
        o.sent?.(bytesRead);
      }
    } catch {
      if (!closed) sftp.status(reqid, STATUS_CODE.FAILURE, 'read failed');
    } finally {
      o.buffers.give(buf);
      reading -= 1;
      pump();
    }
  };

  sftp.on('FSTAT', (reqid, handle) => {
    const file = fileOf(handle);
    if (!file) return sftp.status(reqid, STATUS_CODE.FAILURE, 'invalid handle');
    sftp.attrs(reqid, attrsOf(file.stats));
  });

  sftp.on('CLOSE', (reqid, handle) => {
    const key = handle.toString('hex');
    const file = handles.get(key);
    if (!file) return sftp.status(reqid, STATUS_CODE.FAILURE, 'invalid handle');
    handles.delete(key);
    file.unwatch();
    o.grants.give(file.grant);
    sftp.status(reqid, STATUS_CODE.OK);
  });

  const statByName = (reqid: number, path: string): void => {
    const name = stagedNameOf(path);
    if (!name || !o.isLive(name)) return deny(reqid, `no live push of ${path} for this client`);
    o.grants.statOf(name).then(
      (s) => !closed && sftp.attrs(reqid, attrsOf(s)),
      () => !closed && sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE),
    );
  };
  sftp.on('STAT', statByName);
  sftp.on('LSTAT', statByName);

  sftp.on('REALPATH', (reqid, path) => {
    if (path === '.' || path === '/' || path === '') {
      return sftp.name(reqid, [{ filename: '/', longname: '/', attrs: {} as Attributes }]);
    }
    const name = stagedNameOf(path);
    if (!name || !o.isLive(name)) return deny(reqid, `no live push of ${path} for this client`);
    sftp.name(reqid, [{ filename: `/${name}`, longname: `/${name}`, attrs: {} as Attributes }]);
  });

  const readOnly = (reqid: number): void => deny(reqid, 'this SFTP server is read-only');
  for (const op of [
    'WRITE',
    'SETSTAT',
    'FSETSTAT',
    'OPENDIR',
    'READDIR',
    'REMOVE',
    'RMDIR',
    'MKDIR',
    'RENAME',
    'READLINK',
    'SYMLINK',
  ] as const) {
    sftp.on(op, readOnly);
  }
  // Anything else (EXTENDED, unknown): ssh2 answers OP_UNSUPPORTED by itself when no listener exists.

  // OpenSSH's sftp client hangs at exit unless the server ends on end (see shared ssh2 notes).
  sftp.on('end', () => sftp.end());
  sftp.on('error', () => undefined);
  sftp.on('close', () => {
    closed = true;
    queue.length = 0;
    for (const f of [...handles.values()]) {
      f.unwatch();
      o.grants.give(f.grant);
    }
    handles.clear();
  });
}
