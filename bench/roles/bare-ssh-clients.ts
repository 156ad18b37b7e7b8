// Baseline: many bare ssh2 clients in one process: connect with a bounded number of handshakes in
// flight, then all fetch one file at once with pipelined SFTP reads (the same reads as our agents).
import { createHash } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import ssh2, { type SFTPWrapper } from 'ssh2';
import { emit, serveRole } from '../lib/role.ts';

const clients: ssh2.Client[] = [];

function connectOne(port: number): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host: '127.0.0.1', port, noDelay: true });
    const client = new ssh2.Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before ready')));
    sock.once('error', reject);
    client.connect({ sock, username: 'bench', password: 'bench', readyTimeout: 120_000 });
  });
}

async function connectMany(a: Record<string, unknown>): Promise<{ ms: number; failed: number }> {
  const port = a.port as number;
  const count = a.count as number;
  const inflight = a.inflight as number;
  let started = 0;
  let failed = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (started < count) {
      started += 1;
      try {
        clients.push(await connectOne(port));
      } catch {
        failed += 1;
      }
      if (++done % 100 === 0) emit('progress', { done, count });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
  return { ms: performance.now() - t0, failed };
}

function sftpOf(c: ssh2.Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => c.sftp((err, s) => (err ? reject(err) : resolve(s))));
}

async function fetchOne(
  c: ssh2.Client,
  path: string,
  readSize: number,
  readsInFlight: number,
): Promise<string> {
  const sftp = await sftpOf(c);
  (sftp as unknown as { _maxReadLen: number })._maxReadLen = readSize;
  const handle = await new Promise<Buffer>((resolve, reject) =>
    sftp.open(path, 'r', (e, h) => (e ? reject(e) : resolve(h))),
  );
  const size = await new Promise<number>((resolve, reject) =>
    sftp.fstat(handle, (e, s) => (e ? reject(e) : resolve(s.size))),
  );
  const md5 = createHash('md5');
  const read = (pos: number, len: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const buf = Buffer.allocUnsafe(len);
      sftp.read(handle, buf, 0, len, pos, (e, n) => (e ? reject(e) : resolve(buf.subarray(0, n))));
    });
  const inFlight: Promise<Buffer>[] = [];
  let next = 0;
  while (next < size || inFlight.length) {
    while (inFlight.length < readsInFlight && next < size) {
      const len = Math.min(readSize, size - next);
      inFlight.push(read(next, len));
      next += len;
    }
    md5.update(await inFlight.shift()!);
  }
  await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  sftp.end();
  return md5.digest('hex');
}

async function fetchAll(a: Record<string, unknown>): Promise<{ ms: number; failed: number; md5s: string[] }> {
  const t0 = performance.now();
  let done = 0;
  const some = clients.slice(0, (a.count as number | undefined) ?? clients.length);
  const results = await Promise.allSettled(
    some.map((c) =>
      fetchOne(c, a.path as string, a.readSize as number, a.readsInFlight as number).finally(() => {
        if (++done % 100 === 0) emit('progress', { done, count: some.length });
      }),
    ),
  );
  const md5s = [...new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])))];
  return { ms: performance.now() - t0, failed: results.filter((r) => r.status === 'rejected').length, md5s };
}

serveRole({
  connect: connectMany,
  fetch: fetchAll,
  close: () => {
    for (const c of clients.splice(0)) c.end();
  },
});
