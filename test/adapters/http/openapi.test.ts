import { validate } from '@readme/openapi-parser';
import type Router from '@koa/router';
import { expect } from 'chai';
import type Koa from 'koa';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';
import { openapiDocumentPath } from '../../../src/adapters/http/openapi-route.ts';
import { FORM_FIELDS } from '../../../src/domain/upload-fields.ts';
import { T } from '../../../src/composition/rportd/container.ts';
import {
  HTTP_METHODS,
  OPENAPI_FILE,
  OpenapiChecker,
  openapiChecker,
  routeCoverage,
  watchAnswers,
  type OpenapiDocument,
} from '../../support/openapi-check.ts';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

const ROOT = dirname(dirname(OPENAPI_FILE));
const docText = (): string => readFileSync(OPENAPI_FILE, 'utf8');
const freshDoc = (): OpenapiDocument => JSON.parse(docText()) as OpenapiDocument;

type Operation = OpenapiDocument['paths'][string][string] & {
  security?: unknown[];
  'x-websocket'?: unknown;
};
const operations = (doc: OpenapiDocument): { path: string; method: string; op: Operation }[] =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => (HTTP_METHODS as readonly string[]).includes(method))
      .map(([method, op]) => ({ path, method, op: op as Operation })),
  );

/** The routes of the Koa app's router, as `METHOD /path/{param}` (HEAD comes with every GET). */
function routesOf(app: Koa): Set<string> {
  const router = app.middleware
    .map((m) => (m as { router?: Router }).router)
    .find((r): r is Router => r !== undefined);
  if (!router) throw new Error("the app has no @koa/router middleware: can't list its routes");
  const out = new Set<string>();
  for (const layer of router.stack) {
    const path = String(layer.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    for (const m of layer.methods) if (m !== 'HEAD') out.add(`${m} ${path}`);
  }
  return out;
}

describe('docs/openapi.json: the API description', () => {
  it('a real validator (@readme/openapi-parser) accepts it as OpenAPI 3.1, and refuses a broken copy', async () => {
    const doc = freshDoc();
    expect(doc.openapi).to.equal('3.1.0');
    const ok = await validate(JSON.parse(docText()) as never);
    expect(ok.valid, JSON.stringify(ok)).to.equal(true);
    // The same validator bites: a parameter in no known place and a dangling $ref are refused.
    const broken = JSON.parse(docText()) as {
      paths: Record<string, Record<string, { parameters: { in: string }[] }>>;
    };
    broken.paths['/api/v1/files/{uuid}'].get.parameters[0].in = 'body';
    expect((await validate(broken as never)).valid).to.equal(false);
    const dangling = docText().replace('#/components/schemas/ErrorPayloadItem', '#/components/schemas/Nope');
    expect((await validate(JSON.parse(dangling) as never)).valid).to.equal(false);
  });

  it("every schema in it compiles under ajv's strict mode (JSON Schema 2020-12)", () => {
    expect(new OpenapiChecker(freshDoc()).compileAll()).to.be.greaterThan(60);
    const typo = freshDoc();
    const me = typo.components.schemas.Me as { properties: Record<string, object> };
    me.properties.username = { type: 'string', maxLenght: 3 };
    expect(() => new OpenapiChecker(typo).compileAll()).to.throw(/unknown keyword: "maxLenght"/);
  });

  it('every error answer is the error document, and every authenticated operation documents 401 and 500', () => {
    const doc = freshDoc();
    const payload = { $ref: '#/components/schemas/ErrorPayload' };
    for (const [name, r] of Object.entries(doc.components.responses))
      expect(r.content?.['application/json'].schema, name).to.deep.equal(payload);
    for (const r of Object.values(doc['x-unrouted']))
      expect(r.content?.['application/json'].schema).to.deep.equal(payload);
    for (const { path, method, op } of operations(doc)) {
      const at = `${method} ${path}`;
      for (const [status, r] of Object.entries(op.responses)) {
        // GET /api/v1/health's 503 is its status report (the same body as its 200), not an error.
        if (Number(status) < 400 || r.$ref || (r as { 'x-status-report'?: boolean })['x-status-report'])
          continue;
        expect(r.content, `${at} ${status}`).to.deep.equal({ 'application/json': { schema: payload } });
      }
      const open = Array.isArray(op.security) && op.security.length === 0;
      if (!open && !op['x-websocket']) expect(op.responses, at).to.include.keys('401', '429', '500');
    }
  });

  it('the upload form lists every field; the results message is a schema the WebSocket route points at', () => {
    const doc = freshDoc() as unknown as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
      paths: Record<string, Record<string, Operation>>;
    };
    // Every field the upload reads (the domain's own list), so a new field cannot go undocumented.
    expect(doc.components.schemas.UploadForm.properties).to.include.keys(...FORM_FIELDS);
    expect(doc.paths['/api/v1/ws/uploads'].get['x-websocket']).to.deep.include({
      'server-messages': { $ref: '#/components/schemas/ClientUploadResponse' },
    });
  });

  it('openapiDocumentPath finds docs/openapi.json from src/, dist/ and a bundle in dist/bundle/', async () => {
    for (const from of ['src/adapters/http', 'dist/adapters/http', 'dist/bundle'])
      expect(openapiDocumentPath(join(ROOT, from)), from).to.equal(OPENAPI_FILE);
    const empty = await mkdtemp(join(tmpdir(), 'rport-openapi-'));
    try {
      await mkdir(join(empty, 'a', 'b', 'c', 'd', 'e', 'f', 'g'), { recursive: true });
      await writeFile(join(empty, 'openapi.json'), '{}');
      // Only docs/openapi.json counts, and the search stops within a few levels.
      expect(openapiDocumentPath(join(empty, 'a', 'b', 'c', 'd', 'e', 'f', 'g'))).to.equal(undefined);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('OpenapiChecker: the check the HTTP tests go through', () => {
  const checker = new OpenapiChecker(freshDoc());
  const json = (method: string, path: string, status: number, body: unknown) => ({
    method,
    path,
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(body),
  });
  const err = { errors: [{ code: 'not-found', title: 'Not Found', detail: 'x' }] };

  it('accepts documented answers: a body, an empty 204, an unknown path 404, HEAD without a body', () => {
    const client = {
      id: 'a',
      name: 'a',
      hostname: 'a',
      os: 'linux',
      tags: [],
      version: '1',
      connected: true,
      file_reception_enabled: true,
      file_reception: { enabled: true, protected: [] },
    };
    expect(checker.problemOf(json('GET', '/api/v1/clients?x=1', 200, { data: [client] }))).to.equal(
      undefined,
    );
    expect(
      checker.problemOf({
        method: 'DELETE',
        path: '/api/v1/users/u',
        status: 204,
        contentType: undefined,
        body: '',
      }),
    ).to.equal(undefined);
    expect(checker.problemOf(json('GET', '/nowhere', 404, err))).to.equal(undefined);
    expect(
      checker.problemOf({
        method: 'HEAD',
        path: '/api/v1/me',
        status: 401,
        contentType: 'application/json',
        body: '',
      }),
    ).to.equal(undefined);
  });

  it('refuses an undocumented route, status, content type, body shape or body', () => {
    expect(checker.problemOf(json('GET', '/nowhere', 200, {}))).to.match(/no such path/);
    expect(checker.problemOf(json('GET', '/api/v1/clients', 418, err))).to.match(
      /status 418 is not documented for get \/api\/v1\/clients/,
    );
    expect(checker.problemOf(json('PATCH', '/api/v1/clients', 200, {}))).to.match(/no patch operation/);
    expect(checker.problemOf({ ...json('GET', '/api/v1/me', 200, {}), contentType: 'text/plain' })).to.match(
      /Content-Type "text\/plain"/,
    );
    expect(checker.problemOf(json('GET', '/api/v1/me', 200, { data: { username: 'u' } }))).to.match(
      /must have required property 'groups'/,
    );
    expect(checker.problemOf(json('POST', '/api/v1/login', 401, { errors: [{ code: 'x' }] }))).to.match(
      /required property 'title'/,
    );
    expect(
      checker.problemOf({
        method: 'POST',
        path: '/api/v1/users',
        status: 201,
        contentType: 'text/plain',
        body: 'Created',
      }),
    ).to.match(/the document says none/);
  });

  it('routeCoverage: a routed x-pending operation (HTTP or WebSocket) is "landed"; an unmarked unrouted one "unrouted"', () => {
    const doc = freshDoc();
    const all = operations(doc).map(({ path, method, op }) => ({
      route: `${method.toUpperCase()} ${path}`,
      op,
    }));
    const routed = new Set(all.filter((o) => !o.op['x-websocket']).map((o) => o.route));
    const ws = new Set(all.filter((o) => o.op['x-websocket']).map((o) => o.route));
    expect(routeCoverage(doc, routed, ws)).to.deep.equal({ missing: [], unrouted: [], landed: [] });
    doc.paths['/api/v1/files/{uuid}'].get['x-pending'] = 'on its way';
    doc.paths['/api/v1/ws/uploads'].get['x-pending'] = 'on its way';
    expect(routeCoverage(doc, routed, ws).landed).to.deep.equal([
      'GET /api/v1/files/{uuid}',
      'GET /api/v1/ws/uploads',
    ]);
    // Pending and not routed is tolerated; not pending and not routed, or routed and undocumented, is not.
    const fewer = new Set([...routed, 'GET /api/v1/nowhere']);
    fewer.delete('GET /api/v1/files/{uuid}');
    fewer.delete('GET /api/v1/files');
    expect(routeCoverage(doc, fewer, ws)).to.deep.equal({
      missing: ['GET /api/v1/nowhere'],
      unrouted: ['GET /api/v1/files'],
      landed: ['GET /api/v1/ws/uploads'],
    });
  });

  it('refuses a field marked x-pending once an answer or a message carries it', () => {
    const outcome = {
      client_id: 'web-1',
      uuid: '482ae29e-d372-4d21-8cb4-58d75482b7e1',
      filepath: '/srv/f',
      size: 1,
      message: 'placed',
      status: 'success',
      changed: true,
    };
    expect(checker.schemaProblem('ClientUploadResponse', outcome)).to.equal(undefined);
    // A field on its way: documented, marked, and not yet sent by rportd.
    const doc = freshDoc() as unknown as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    doc.components.schemas.ClientUploadResponse.properties.attempt = {
      type: 'integer',
      'x-pending': 'on its way',
    };
    const withPending = new OpenapiChecker(doc as never);
    expect(withPending.schemaProblem('ClientUploadResponse', outcome)).to.equal(undefined);
    expect(withPending.schemaProblem('ClientUploadResponse', { ...outcome, attempt: 1 })).to.match(
      /\/attempt is marked x-pending in docs\/openapi.json, yet it was sent/,
    );
    const { changed: _, ...withoutChanged } = outcome;
    expect(checker.schemaProblem('ClientUploadResponse', withoutChanged)).to.match(
      /must have required property 'changed'/,
    );
  });

  it('refuses an X-Rport-* header the answer does not document, and an error code outside its x-error-codes', () => {
    const ignored = { 'x-rport-ignored-fields': 'colour' };
    const refusal = (status: number, code: string, title: string) => ({
      ...json('POST', '/api/v1/files', status, { errors: [{ code, title, detail: 'x' }] }),
      headers: ignored,
    });
    expect(checker.problemOf(refusal(400, 'BAD_DESTINATION', 'upload denied'))).to.equal(undefined);
    expect(checker.problemOf(refusal(403, 'ACCESS_CONTROL_VIOLATION', 'upload forbidden'))).to.equal(
      undefined,
    );
    expect(checker.problemOf(refusal(409, 'conflict', 'Conflict'))).to.equal(undefined);
    expect(checker.problemOf(refusal(403, 'forbidden', 'Forbidden'))).to.match(
      /with error forbidden "Forbidden"; documented: ACCESS_CONTROL_VIOLATION "upload forbidden"/,
    );
    expect(checker.problemOf(refusal(400, 'BAD_DESTINATION', 'Bad Request'))).to.match(
      /with error BAD_DESTINATION/,
    );
    expect(checker.problemOf({ ...json('GET', '/api/v1/me', 401, err), headers: ignored })).to.match(
      /with header x-rport-ignored-fields, not documented for this answer/,
    );
  });

  it('watchAnswers records what a real server answered outside the document', async () => {
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.write('{"data":');
      res.end('{"token":7}}');
    });
    const seen = watchAnswers(server, checker);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await (await fetch(`${url}/api/v1/login`, { method: 'POST' })).text();
      await (await fetch(`${url}/api/v1/teapot`)).text();
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(seen.problems).to.have.length(2);
    expect(seen.problems[0]).to.match(/POST \/api\/v1\/login answered 200 .*\/data\/token must be string/);
    expect(seen.problems[1]).to.match(/GET \/api\/v1\/teapot answered 200: the document has no such path/);
  });
});

describe('the document against a real rportd', () => {
  let t: TestServer;
  let token: string;
  before(async () => {
    t = await startTestServer({ sshAgents: true, enableTestEndpoints: true });
    token = await t.login(t.admin.username, t.admin.password);
  });
  after(() => t.close());

  it('GET /api/v1/openapi.json serves the file without auth', async () => {
    const res = await fetch(`${t.url}/api/v1/openapi.json`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    expect(await res.text()).to.equal(docText());
  });

  it('every route in the Koa router is in the document, every documented route is routed, and none routed is still x-pending', () => {
    const app = t.server.container.get<{ app: Koa }>(T.rportd).app;
    const routed = routesOf(app);
    const ws = new Set(t.server.http.upgradePaths.map((p) => `GET ${p}`));
    // One assertion for the three lists, so a failure in one cannot hide the others.
    expect(
      routeCoverage(freshDoc(), routed, ws),
      'missing: add them; unrouted: mark them x-pending or route them; landed: drop x-pending',
    ).to.deep.equal({
      missing: [],
      unrouted: [],
      landed: [],
    });
    // The WebSocket routes are told apart, so each side of the comparison is the right one.
    expect([...ws].sort()).to.deep.equal(['GET /api/v1/ws/agents', 'GET /api/v1/ws/uploads']);
    expect(routed).to.include('GET /api/v1/files').and.include('DELETE /api/v1/clients/{id}/key');
  });

  it('a method a path does not serve is 405 with Allow, an unknown one 501, both as error documents', async () => {
    const patch = await fetch(`${t.url}/api/v1/clients`, { method: 'PATCH' });
    expect(patch.status).to.equal(405);
    expect(patch.headers.get('allow')).to.match(/GET/);
    expect(((await patch.json()) as { errors: { code: string }[] }).errors[0].code).to.equal(
      'method-not-allowed',
    );
    const propfind = await fetch(`${t.url}/api/v1/clients`, { method: 'PROPFIND' });
    expect(propfind.status).to.equal(501);
    expect(((await propfind.json()) as { errors: { code: string }[] }).errors[0].code).to.equal(
      'not-implemented',
    );
  });

  it('the results WebSocket sends messages the ClientUploadResponse schema describes', async () => {
    await t.presence.announce(clientInfo('web-1'));
    t.agents.connect('web-1');
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/api/v1/ws/uploads`, ['bearer', token]);
    const got: unknown[] = [];
    ws.on('message', (d: Buffer) => got.push(JSON.parse(d.toString())));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    try {
      const fd = new FormData();
      fd.append('client_id', 'web-1');
      fd.append('dest', '/srv/openapi.txt');
      fd.append('upload', new Blob(['bytes']), 'f.txt');
      const res = await fetch(`${t.url}/api/v1/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: fd,
      });
      expect(res.status).to.equal(200);
      const [message] = await eventually(async () => (got.length > 0 ? got : undefined), 'an outcome');
      expect(openapiChecker().schemaProblem('ClientUploadResponse', message)).to.equal(undefined);
      expect(
        openapiChecker().schemaProblem('ClientUploadResponse', { ...(message as object), status: 'done' }),
      ).to.match(/must be equal to one of the allowed values/);
    } finally {
      ws.terminate();
    }
  });
});
