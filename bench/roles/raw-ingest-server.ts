// Ingest reference: a plain node:http server piping the raw request body to disk, with or without
// md5+sha256 computed in the same pass. argv: <dir> <hash|plain>.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { serveRole } from '../lib/role.ts';

const [dir, mode] = process.argv.slice(2);
let n = 0;

function hashing(): { transform: Transform; digests: () => { md5: string; sha256: string } } {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      md5.update(chunk);
      sha256.update(chunk);
      done(null, chunk);
    },
  });
  return { transform, digests: () => ({ md5: md5.digest('hex'), sha256: sha256.digest('hex') }) };
}

const server = createServer((req, res) => {
  const path = join(dir, `upload-${++n}`);
  const h = mode === 'hash' ? hashing() : undefined;
  const file = createWriteStream(path);
  const done = h ? pipeline(req, h.transform, file) : pipeline(req, file);
  done.then(
    () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ bytes: file.bytesWritten, ...h?.digests() }));
      void rm(path, { force: true });
    },
    (e: Error) => {
      res.statusCode = 500;
      res.end(e.message);
      void rm(path, { force: true });
    },
  );
});

server.listen(0, '127.0.0.1', () => serveRole({}, { port: (server.address() as AddressInfo).port }));
