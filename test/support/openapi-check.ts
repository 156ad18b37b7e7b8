/**
 * Checks real HTTP answers against docs/openapi.json: the route and status must be documented, and
 * a JSON body must match the documented schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). So
 * the document cannot drift from what rportd answers.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

export const OPENAPI_FILE = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));
const DOC_ID = 'rportd-openapi.json';

interface MediaType {
  schema?: object;
}
interface ResponseObject {
  description: string;
  content?: Record<string, MediaType>;
  headers?: Record<string, unknown>;
  /** The error codes this answer carries, each with its title; when present, no other code passes. */
  'x-error-codes'?: Record<string, string>;
  $ref?: string;
}
interface Operation {
  responses: Record<string, ResponseObject>;
  'x-pending'?: string;
}
export interface OpenapiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, ResponseObject>; schemas: Record<string, object> };
  'x-unrouted': Record<string, ResponseObject>;
}

/** One answer as the server sent it. */
export interface Answer {
  method: string;
  /** The request's path, query string allowed (ignored). */
  path: string;
  status: number;
  contentType: string | undefined;
  body: string;
  /** The response headers, names in lower case; only rportd's own (`x-rport-*`) are checked. */
  headers?: Record<string, string>;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

/** `{param}` segments of a path template as a regular expression over a request path. */
const templateRe = (template: string): RegExp =>
  new RegExp(
    `^${template
      .split('/')
      .map((seg) => (/^\{[^}]+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
      .join('/')}$`,
  );

const pointer = (...parts: string[]): string =>
  `#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

export class OpenapiChecker {
  readonly doc: OpenapiDocument;
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  /** Templates with fewer parameters first, so a literal segment wins over a parameter. */
  private readonly templates: { template: string; re: RegExp }[];

  constructor(doc: OpenapiDocument = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenapiDocument) {
    this.doc = doc;
    this.ajv = new Ajv2020({ strict: true, allErrors: true });
    // The document's own keys beside the schemas, so ajv's strict mode flags a typo in a schema instead.
    this.ajv.addVocabulary(['openapi', 'info', 'servers', 'paths', 'components', 'security', 'tags']);
    this.ajv.addVocabulary(Object.keys(doc).filter((k) => k.startsWith('x-')));
    // A field marked x-pending is one rportd does not send yet: once an answer carries it, it has landed.
    this.ajv.addKeyword({
      keyword: 'x-pending',
      schemaType: 'string',
      error: { message: 'is marked x-pending in docs/openapi.json, yet it was sent: drop the mark' },
      code: (cxt) => cxt.fail(),
    });
    this.ajv.addFormat(
      'date-time',
      (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s),
    );
    this.ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    this.ajv.addSchema({ ...doc, $id: DOC_ID });
    this.templates = Object.keys(doc.paths)
      .map((template) => ({ template, re: templateRe(template) }))
      .sort((a, b) => a.template.split('{').length - b.template.split('{').length);
  }

  /** The documented path template a request path falls under. */
  templateOf(path: string): string | undefined {
    const bare = path.split('?')[0];
    return this.templates.find((t) => t.re.test(bare))?.template;
  }

  /** What is wrong with an answer, or undefined when the document describes it. */
  problemOf(a: Answer): string | undefined {
    const what = `${a.method} ${a.path.split('?')[0]} answered ${a.status}`;
    const template = this.templateOf(a.path);
    const method = a.method.toLowerCase() === 'head' ? 'get' : a.method.toLowerCase();
    const op = template ? this.doc.paths[template][method] : undefined;
    const unrouted = (): string | undefined => {
      const r = this.doc['x-unrouted'][String(a.status)];
      return r
        ? this.bodyProblem(a, r, pointer('x-unrouted', String(a.status)), what)
        : `${what}: ${template ? `the document has no ${method} operation on ${template}` : 'the document has no such path'}`;
    };
    if (!template || !op) return unrouted();
    const status = String(a.status);
    let response = op.responses[status];
    let at = pointer('paths', template, method, 'responses', status);
    if (!response) {
      // An announced operation may not be routed yet.
      if (op['x-pending'] && this.doc['x-unrouted'][status]) return unrouted();
      return `${what}: status ${status} is not documented for ${method} ${template} (documented: ${Object.keys(op.responses).join(', ')})`;
    }
    if (response.$ref) {
      const name = response.$ref.replace('#/components/responses/', '');
      response = this.doc.components.responses[name];
      at = pointer('components', 'responses', name);
    }
    return this.headerProblem(a, response, what) ?? this.bodyProblem(a, response, at, what);
  }

  /** rportd's own headers (`X-Rport-…`) must be among the answer's documented headers. */
  private headerProblem(a: Answer, response: ResponseObject, what: string): string | undefined {
    const documented = Object.keys(response.headers ?? {}).map((h) => h.toLowerCase());
    const extra = Object.keys(a.headers ?? {}).filter(
      (h) => h.toLowerCase().startsWith('x-rport-') && !documented.includes(h.toLowerCase()),
    );
    return extra.length > 0
      ? `${what} with header ${extra.join(', ')}, not documented for this answer (documented: ${documented.join(', ') || 'none'})`
      : undefined;
  }

  /** With `x-error-codes`, each error of the answer must carry one of those codes and its title. */
  private codeProblem(body: unknown, response: ResponseObject, what: string): string | undefined {
    const codes = response['x-error-codes'];
    if (!codes) return undefined;
    const errors = (body as { errors?: { code?: string; title?: string }[] }).errors ?? [];
    const wrong = errors.filter((e) => e.code === undefined || codes[e.code] !== e.title);
    return wrong.length > 0
      ? `${what} with error ${wrong.map((e) => `${e.code} "${e.title}"`).join(', ')}; documented: ${Object.entries(
          codes,
        )
          .map(([c, t]) => `${c} "${t}"`)
          .join(', ')}`
      : undefined;
  }

  private bodyProblem(a: Answer, response: ResponseObject, at: string, what: string): string | undefined {
    const head = a.method.toUpperCase() === 'HEAD';
    if (!response.content) {
      return a.body === ''
        ? undefined
        : `${what} with a body, but the document says none: ${a.body.slice(0, 200)}`;
    }
    const type = (a.contentType ?? '').split(';')[0].trim().toLowerCase();
    const media = response.content[type];
    if (!media)
      return `${what} with Content-Type "${a.contentType}", documented: ${Object.keys(response.content).join(', ')}`;
    if (head || type !== 'application/json' || !media.schema) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(a.body);
    } catch {
      return `${what} with a body that is not JSON: ${a.body.slice(0, 200)}`;
    }
    const validate = this.validatorAt(`${at}/content/${type.replace(/\//g, '~1')}/schema`);
    if (validate(body)) return this.codeProblem(body, response, what);
    const errs = (validate.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
      .join('; ');
    return `${what} with a body the document does not describe: ${errs}; body: ${a.body.slice(0, 300)}`;
  }

  /** Compiles every schema the document holds (strict mode flags a typo); returns how many. */
  compileAll(): number {
    const refs = Object.keys(this.doc.components.schemas).map((n) => pointer('components', 'schemas', n));
    for (const [path, item] of Object.entries(this.doc.paths))
      for (const [method, op] of Object.entries(item))
        for (const [status, r] of Object.entries(op.responses ?? {}))
          for (const type of Object.keys(r.content ?? {}))
            refs.push(`${pointer('paths', path, method, 'responses', status, 'content', type)}/schema`);
    for (const ref of refs) this.validatorAt(ref);
    return refs.length;
  }

  /** What is wrong with a value as `#/components/schemas/<name>` describes it, e.g. a WebSocket message. */
  schemaProblem(name: string, value: unknown): string | undefined {
    const validate = this.validatorAt(pointer('components', 'schemas', name));
    if (validate(value)) return undefined;
    return `not a ${name}: ${this.ajv.errorsText(validate.errors)}; value: ${JSON.stringify(value).slice(0, 300)}`;
  }

  private validatorAt(ref: string): ValidateFunction {
    let v = this.validators.get(ref);
    if (!v) this.validators.set(ref, (v = this.ajv.compile({ $ref: `${DOC_ID}${ref}` })));
    return v;
  }
}

let shared: OpenapiChecker | undefined;
/** One checker for the whole run: the document is read and its schemas compiled once. */
export const openapiChecker = (): OpenapiChecker => (shared ??= new OpenapiChecker());

/**
 * Records every answer a Node HTTP(S) server sends and checks it. The body is captured at
 * `res.end`, before the client can read it, so a test that saw an answer finds its check done.
 */
export function watchAnswers(server: Server, checker = openapiChecker()): { problems: string[] } {
  const problems: string[] = [];
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const keep = (chunk: unknown, encoding?: unknown): void => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(
              chunk as string,
              typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
            ),
      );
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((...args: unknown[]) => {
      keep(args[0], args[1]);
      return write(...args);
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      keep(args[0], args[1]);
      const answer: Answer = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        status: res.statusCode,
        contentType: res.getHeader('content-type')?.toString(),
        body: Buffer.concat(chunks).toString('utf8'),
        headers: Object.fromEntries(
          Object.entries(res.getHeaders()).map(([k, v]) => [k.toLowerCase(), String(v)]),
        ),
      };
      // A broken document is reported like a wrong answer; it must never change what the server sends.
      try {
        const problem = checker.problemOf(answer);
        if (problem) problems.push(problem);
      } catch (e) {
        problems.push(
          `${answer.method} ${answer.path}: the document cannot be checked: ${(e as Error).message}`,
        );
      }
      return end(...args);
    }) as typeof res.end;
  });
  return { problems };
}

/** Where the document's operations and a server's routes (`METHOD /path/{param}`) disagree. */
export interface RouteCoverage {
  /** Routed, but the document has no such operation. */
  missing: string[];
  /** Documented without `x-pending`, but not routed. */
  unrouted: string[];
  /** Marked `x-pending`, yet routed: the mark must go and the operation's answers be checked. */
  landed: string[];
}

/** Compares the document with the routes a server has; WebSocket operations (`x-websocket`) with its upgrade paths. */
export function routeCoverage(
  doc: OpenapiDocument,
  routed: ReadonlySet<string>,
  websockets: ReadonlySet<string>,
): RouteCoverage {
  const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => (HTTP_METHODS as readonly string[]).includes(method))
      .map(([method, op]) => ({
        route: `${method.toUpperCase()} ${path}`,
        pending: op['x-pending'] !== undefined,
        served: (op as { 'x-websocket'?: unknown })['x-websocket'] ? websockets : routed,
      })),
  );
  const known = new Set(documented.map((d) => d.route));
  return {
    missing: [...routed, ...websockets].filter((r) => !known.has(r)),
    unrouted: documented.filter((d) => !d.pending && !d.served.has(d.route)).map((d) => d.route),
    landed: documented.filter((d) => d.pending && d.served.has(d.route)).map((d) => d.route),
  };
}
