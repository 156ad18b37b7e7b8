import { basename } from 'node:path';
import { RportApiError, errorsOf } from './api-errors.ts';
import type {
  ClientGroupSummary,
  ClientSummary,
  TargetStatus,
  UploadProgress,
  UploadReceipt,
  UploadRequest,
  UploadStatus,
} from './api-types.ts';
import { sendRequest } from './http-request.ts';
import { postStream } from './http-upload.ts';
import { multipartBody } from './multipart-body.ts';
import type { TlsOptions } from './tls-options.ts';
import { WsResultsListener } from './ws-results-listener.ts';

export type ApiCredentials = { token: string } | { username: string; password: string } | undefined;

const REQUEST_TIMEOUT_MS = 30_000;

/** The rportd HTTP API: node:http(s) for JSON calls and the streamed upload, ws for live results. */
export class RportApiClient {
  private readonly base: URL;

  constructor(
    url: string,
    private credentials: ApiCredentials,
    private readonly tls: TlsOptions = {},
  ) {
    this.base = new URL(url.endsWith('/') ? url : `${url}/`);
  }

  get url(): string {
    return this.base.href.replace(/\/$/, '');
  }

  /** POST /api/v1/login: exchanges a username and password for a token. */
  async login(username: string, password: string): Promise<string> {
    const data = await this.call<{ token?: unknown }>('POST', 'api/v1/login', {
      body: JSON.stringify({ username, password }),
      headers: { 'content-type': 'application/json' },
      anonymous: true,
    });
    if (typeof data.token !== 'string' || data.token === '')
      throw new RportApiError(200, errorsOf('', 'the login answer holds no token'));
    return data.token;
  }

  clients(): Promise<ClientSummary[]> {
    return this.call<ClientSummary[]>('GET', 'api/v1/clients');
  }

  groups(): Promise<ClientGroupSummary[]> {
    return this.call<ClientGroupSummary[]>('GET', 'api/v1/client-groups');
  }

  /** GET /api/v1/clients-auth: the credential ids, and where they live (`database` or `rportd.conf`). */
  async clientCredentials(): Promise<{ ids: string[]; source: string }> {
    const doc = await this.call<{ data?: { id: string }[]; meta?: { source?: string } }>(
      'GET',
      'api/v1/clients-auth',
      { whole: true },
    );
    return { ids: (doc.data ?? []).map((c) => String(c.id)), source: String(doc.meta?.source ?? 'database') };
  }

  async addClientCredential(id: string, password: string): Promise<void> {
    await this.call('POST', 'api/v1/clients-auth', {
      body: JSON.stringify({ id, password }),
      headers: { 'content-type': 'application/json' },
    });
  }

  async removeClientCredential(id: string): Promise<void> {
    await this.call('DELETE', `api/v1/clients-auth/${encodeURIComponent(id)}`);
  }

  /** A small JSON call of the API (users, user groups, me): the answer's `data`, undefined for 201/204 without body. */
  json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.call<T>(method, path.replace(/^\//, ''), {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    });
  }

  /** DELETE /api/v1/clients/:id/key: frees a client id for the next agent key that registers it. */
  async releaseClientKey(id: string): Promise<void> {
    await this.call('DELETE', `api/v1/clients/${encodeURIComponent(id)}/key`);
  }

  /** POST /api/v1/files, streaming the file from disk; onProgress counts file bytes handed to the socket. */
  async upload(req: UploadRequest, onProgress?: UploadProgress): Promise<UploadReceipt> {
    const fields: [string, string][] = [
      ...req.clientIds.map((id): [string, string] => ['client_id', id]),
      ...req.groupIds.map((id): [string, string] => ['group_id', id]),
    ];
    if (req.dest !== undefined) fields.push(['dest', req.dest]);
    if (req.force) fields.push(['force', 'true']);
    if (req.sync) fields.push(['sync', 'true']);
    if (req.mode !== undefined) fields.push(['mode', req.mode]);
    if (req.user !== undefined) fields.push(['user', req.user]);
    if (req.group !== undefined) fields.push(['group', req.group]);
    if (req.validate !== undefined) fields.push(['validate', req.validate]);
    if (req.backup !== undefined) fields.push(['backup', String(req.backup)]);
    if (req.check) fields.push(['check', 'true']);
    if (req.diff) fields.push(['diff', 'true']);
    if (req.offlineTtl !== undefined) fields.push(['offline_ttl', req.offlineTtl]);
    const body = await multipartBody(
      fields,
      { field: 'upload', path: req.file, filename: basename(req.file) },
      onProgress,
    );
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': body.contentType,
      'content-length': String(body.length),
    };
    const auth = this.authorization();
    if (auth) headers.authorization = auth;
    const url = new URL('api/v1/files', this.base);
    const answer = await postStream(url, headers, body.chunks, this.url, this.tls);
    const data = dataOf<Partial<UploadReceipt>>('POST', url, answer.status, answer.text);
    if (typeof data.uuid !== 'string')
      throw new RportApiError(200, errorsOf('', 'the upload answer holds no uuid'));
    return { uuid: data.uuid, filepath: String(data.filepath ?? ''), size: Number(data.size ?? 0) };
  }

  /** POST /api/v1/files/:uuid/retry: pushes again to the targets whose outcome was error. */
  async retry(uuid: string): Promise<{ uuid: string; targets: string[] }> {
    const data = await this.call<{ uuid?: unknown; targets?: unknown }>(
      'POST',
      `api/v1/files/${encodeURIComponent(uuid)}/retry`,
    );
    return {
      uuid: String(data.uuid ?? uuid),
      targets: Array.isArray(data.targets) ? data.targets.map(String) : [],
    };
  }

  /** GET /api/v1/files/:uuid: the stored outcome of every target. */
  async status(uuid: string): Promise<UploadStatus> {
    const data = await this.call<Record<string, unknown>>('GET', `api/v1/files/${encodeURIComponent(uuid)}`);
    return statusOf(uuid, data);
  }

  /**
   * Opens the live results socket; with a username and password it logs in first, as the socket
   * takes tokens only. With progress, it asks for transfer progress too (`?progress=1`).
   */
  async listen(progress = false): Promise<WsResultsListener> {
    const token = await this.token();
    return WsResultsListener.open(
      progress ? `${this.resultsUrl}?progress=1` : this.resultsUrl,
      token,
      this.tls,
    );
  }

  /** The results socket's URL: ws:// or wss:// beside the API. */
  get resultsUrl(): string {
    const ws = new URL('api/v1/ws/uploads', this.base);
    ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
    return ws.href;
  }

  private async token(): Promise<string> {
    const c = this.credentials;
    if (c && 'token' in c) return c.token;
    if (c) {
      const token = await this.login(c.username, c.password);
      this.credentials = { token };
      return token;
    }
    throw new RportApiError(401, errorsOf('', 'no credentials'));
  }

  private authorization(): string | undefined {
    const c = this.credentials;
    if (!c) return undefined;
    if ('token' in c) return `Bearer ${c.token}`;
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  }

  private async call<T>(
    method: string,
    path: string,
    /** whole: the whole answer document, not only its `data`. */
    opts: { body?: string; headers?: Record<string, string>; anonymous?: boolean; whole?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    const auth = opts.anonymous ? undefined : this.authorization();
    if (auth) headers.authorization = auth;
    const url = new URL(path, this.base);
    const res = await sendRequest(
      url,
      { method, headers, body: opts.body, timeoutMs: REQUEST_TIMEOUT_MS },
      this.tls,
      this.url,
    );
    const text = res.text;
    if (res.status === 204 || (res.status === 201 && text === '')) return undefined as T;
    const data = dataOf<T>(method, url, res.status, text);
    return opts.whole ? (JSON.parse(text) as T) : data;
  }
}

/** The `data` of a 2xx answer; any other answer becomes an RportApiError carrying the server's errors. */
function dataOf<T>(method: string, url: URL, status: number, text: string): T {
  if (status < 200 || status > 299)
    throw new RportApiError(status, errorsOf(text, `${method} ${url.pathname} answered HTTP ${status}`));
  try {
    return (JSON.parse(text) as { data: T }).data;
  } catch {
    throw new RportApiError(
      status,
      errorsOf('', `${method} ${url.pathname} answered with something that is not JSON`),
    );
  }
}

const STATUSES: TargetStatus[] = ['pending', 'success', 'ignored', 'error'];

/** Splits GET /api/v1/files/:uuid into the per-target outcomes and the rest (the upload's parameters). */
function statusOf(uuid: string, data: Record<string, unknown>): UploadStatus {
  const { targets, ...upload } = data;
  const list = Array.isArray(targets) ? (targets as Record<string, unknown>[]) : [];
  return {
    uuid: typeof data.uuid === 'string' ? data.uuid : uuid,
    targets: list.map((t) => ({
      client_id: String(t.client_id),
      status: STATUSES.includes(t.status as TargetStatus) ? (t.status as TargetStatus) : 'pending',
      message: typeof t.message === 'string' ? t.message : '',
      filepath: typeof t.filepath === 'string' ? t.filepath : '',
      size: typeof t.size === 'number' ? t.size : 0,
      ...(typeof t.changed === 'boolean' ? { changed: t.changed } : {}),
      ...(typeof t.backup === 'string' ? { backup: t.backup } : {}),
      ...(typeof t.diff === 'string' ? { diff: t.diff } : {}),
    })),
    upload,
  };
}
