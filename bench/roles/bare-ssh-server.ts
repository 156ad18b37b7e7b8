// Baseline: a bare ssh2 Server, any password accepted, SFTP serving any file read-only with every
// READ answered at once (nothing bounds the reads in flight: docs/benchmarks.md, "Fan-out").
import { open, type FileHandle } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import ssh2, { type Attributes, type SFTPWrapper } from 'ssh2';
import { generateParsableKey } from '../../src/adapters/ssh/host-key.ts';
import { serveRole } from '../lib/role.ts';

const { STATUS_CODE } = ssh2.utils.sftp;
const hostKey = generateParsableKey(); // ssh2 cannot parse ~1 in 200 of its own generated keys
let connections = 0;
let authenticated = 0;

function serveSftp(sftp: SFTPWrapper): void {
  const handles = new Map<number, FileHandle>();
  let next = 0;
  const fileOf = (h: Buffer): FileHandle | undefined => handles.get(h.readUInt32BE(0));
  const attrs = (size: number): Attributes => ({ mode: 0o100644, uid: 0, gid: 0, size, atime: 0, mtime: 0 });
  sftp.on('OPEN', (reqid, path) => {
    open(path, 'r').then(
      (fh) => {
        const id = Buffer.alloc(4);
        id.writeUInt32BE(++next);
        handles.set(next, fh);
        sftp.handle(reqid, id);
      },
      () => sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE),
    );
  });
  sftp.on('FSTAT', (reqid, h) => {
    const fh = fileOf(h);
    if (!fh) return sftp.status(reqid, STATUS_CODE.FAILURE);
    fh.stat().then(
      (s) => sftp.attrs(reqid, attrs(s.size)),
      () => sftp.status(reqid, STATUS_CODE.FAILURE),
    );
  });
  sftp.on('READ', (reqid, h, offset, length) => {
    const fh = fileOf(h);
    if (!fh) return sftp.status(reqid, STATUS_CODE.FAILURE);
    const buf = Buffer.allocUnsafe(length);
    fh.read(buf, 0, length, offset).then(
      ({ bytesRead }) =>
        bytesRead === 0 ? sftp.status(reqid, STATUS_CODE.EOF) : sftp.data(reqid, buf.subarray(0, bytesRead)),
      () => sftp.status(reqid, STATUS_CODE.FAILURE),
    );
  });
  sftp.on('CLOSE', (reqid, h) => {
    const fh = fileOf(h);
    handles.delete(h.readUInt32BE(0));
    void fh?.close();
    sftp.status(reqid, STATUS_CODE.OK);
  });
  sftp.on('end', () => sftp.end());
  sftp.on('close', () => {
    for (const fh of handles.values()) void fh.close();
  });
}

const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
  connections += 1;
  // Nagle off on this end too (ssh2 never does it; see the shared ssh2 notes).
  (client as unknown as { _sock: Socket })._sock.setNoDelay?.(true);
  client.on('authentication', (ctx) => (ctx.method === 'password' ? ctx.accept() : ctx.reject(['password'])));
  client.on('ready', () => {
    authenticated += 1;
    client.on('session', (accept) => {
      const session = accept();
      session.on('sftp', (acceptSftp) => serveSftp(acceptSftp()));
    });
  });
  client.on('error', () => undefined);
  client.on('close', () => (connections -= 1));
});

server.listen(0, '127.0.0.1', () => {
  serveRole(
    { stats: () => ({ connections, authenticated }) },
    { port: (server.address() as AddressInfo).port },
  );
});
