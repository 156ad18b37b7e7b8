// Parser comparison: a plain node:http server that reads each upload through one UploadForm adapter
// and stages its file with the real FsStagingStore (md5 + sha256, fsync), as rportd does, without
// Koa, auth, SQLite or dispatch. argv: <dir> <own|busboy>.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BusboyUploadForm } from '../../src/adapters/http/busboy-upload-form.ts';
import { KoaUploadForm } from '../../src/adapters/http/koa-upload-form.ts';
import { FsStagingStore } from '../../src/adapters/fs/fs-staging-store.ts';
import type { UploadForm } from '../../src/ports/upload-form.ts';
import { serveRole } from '../lib/role.ts';

const [dir, parser] = process.argv.slice(2);
const ADAPTERS: Record<string, (req: IncomingMessage) => UploadForm> = {
  own: (req) => new KoaUploadForm(req),
  busboy: (req) => new BusboyUploadForm(req),
};
const adapter = ADAPTERS[parser];
if (!adapter) throw new Error(`parser must be one of ${Object.keys(ADAPTERS).join(', ')}`);
const staging = new FsStagingStore(dir);

async function ingest(req: IncomingMessage): Promise<Record<string, unknown>> {
  const fields: string[] = [];
  let file: Record<string, unknown> | undefined;
  for await (const part of adapter(req).parts()) {
    if (part.kind === 'field') fields.push(part.name);
    else {
      const staged = await staging.stage(randomUUID(), part.content, Number.MAX_SAFE_INTEGER);
      await staging.remove(staged.uuid);
      file = { size: staged.size, md5: staged.md5, sha256: staged.sha256 };
    }
  }
  return { fields, ...file };
}

const server = createServer((req, res) => {
  ingest(req).then(
    (answer) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    },
    (e: Error) => {
      res.statusCode = 400;
      res.end(e.message);
      req.resume();
    },
  );
});

void staging
  .init()
  .then(() =>
    server.listen(0, '127.0.0.1', () => serveRole({}, { port: (server.address() as AddressInfo).port })),
  );
