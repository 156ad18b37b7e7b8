import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { WsResultBroadcaster } from '../../../src/adapters/ws/ws-result-broadcaster.ts';
import { openapiChecker } from '../../support/openapi-check.ts';
import { clientInfo, eventually, startTestServer, type TestServer } from '../http/http-harness.ts';

const MiB = 1024 * 1024;
const SIZE = 2 * MiB;

interface Heard {
  ws: WebSocket;
  /** Every text message as sent, byte for byte. */
  raw: string[];
  parsed: () => Record<string, unknown>[];
}

function listen(url: string, token: string): Promise<Heard> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['bearer', token]);
    const raw: string[] = [];
    ws.on('message', (d) => raw.push(d.toString()));
    ws.once('open', () =>
      resolve({ ws, raw, parsed: () => raw.map((r) => JSON.parse(r) as Record<string, unknown>) }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })),
      );
    });
    ws.once('error', reject);
  });
}

describe('WebSocket /api/v1/ws/uploads?progress=1: transfer progress for listeners that ask (real ws sockets)', () => {
  let t: TestServer;
  let admin: string;
  let wendy: string;
  const sockets: WebSocket[] = [];
  const wsUrl = (query = ''): string => `${t.url.replace('http', 'ws')}/api/v1/ws/uploads${query}`;

  before(async () => {
    t = await startTestServer({ maxFilepushSize: 4 * MiB });
    admin = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo('web-1', { tags: ['web'] }));
    t.agents.connect('web-1');
    // A client claiming more than the file holds, and bytes going back: listeners see neither.
    t.agents.reportProgress('web-1', [SIZE * 3, MiB]);
    await fetch(`${t.url}/api/v1/client-groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'web', params: { tag: ['web'] }, allowed_user_groups: ['webops'] }),
    });
    await t.addUser('wendy', 'wendy-password', ['webops']);
    wendy = await t.login('wendy', 'wendy-password');
  });
  afterEach(() => sockets.splice(0).forEach((s) => s.terminate()));
  after(() => t.close());

  const upload = async (token: string, size = SIZE): Promise<string> => {
    const fd = new FormData();
    fd.append('client_id', 'web-1');
    fd.append('dest', '/srv/big.bin');
    fd.append('upload', new Blob([new Uint8Array(size)]), 'big.bin');
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: fd,
    });
    expect(res.status).to.equal(200);
    return ((await res.json()) as { data: { uuid: string } }).data.uuid;
  };
  const outcomeOn = (l: Heard, uuid: string): Promise<Record<string, unknown>> =>
    eventually(
      async () => l.parsed().find((m) => m.uuid === uuid && m.type === undefined),
      `the outcome of ${uuid}`,
    );

  it('a listener that asks gets {type:"progress",uuid,client_id,bytes,size} before the outcome, bytes clamped to the size', async () => {
    const l = await listen(wsUrl('?progress=1'), admin);
    sockets.push(l.ws);
    const uuid = await upload(admin);
    await outcomeOn(l, uuid);
    const mine = l.parsed().filter((m) => m.uuid === uuid);
    expect(mine.map((m) => m.type ?? m.status)).to.deep.equal(['progress', 'success']);
    expect(mine[0]).to.deep.equal({ type: 'progress', uuid, client_id: 'web-1', bytes: SIZE, size: SIZE });
    expect(openapiChecker().schemaProblem('UploadProgressMessage', mine[0])).to.equal(undefined);
    expect(openapiChecker().schemaProblem('ClientUploadResponse', mine[1])).to.equal(undefined);
  });

  it('listeners that do not ask (no parameter, progress=0) get exactly the outcome, byte for byte', async () => {
    const plain = await listen(wsUrl(), admin);
    const zero = await listen(wsUrl('?progress=0'), admin);
    const asks = await listen(wsUrl('?progress=1'), admin);
    sockets.push(plain.ws, zero.ws, asks.ws);
    const uuid = await upload(admin);
    await Promise.all([outcomeOn(plain, uuid), outcomeOn(zero, uuid), outcomeOn(asks, uuid)]);
    const outcome = asks.raw.find((r) => !r.includes('"type"'))!;
    expect(JSON.parse(outcome)).to.include({ uuid, client_id: 'web-1', status: 'success' });
    expect(outcome).to.equal(
      JSON.stringify({
        client_id: 'web-1',
        uuid,
        filepath: '/srv/big.bin',
        size: SIZE,
        message: 'file successfully copied to destination',
        status: 'success',
        changed: true,
      }),
    );
    for (const l of [plain, zero]) expect(l.raw.filter((r) => r.includes(uuid))).to.deep.equal([outcome]);
    expect(asks.raw.filter((r) => r.includes(uuid))).to.have.length(2);
  });

  it("visibility as for outcomes: a user's listener sees the progress of her own uploads, not of the admin's", async () => {
    const own = await listen(wsUrl('?progress=1'), wendy);
    const all = await listen(wsUrl('?progress=1'), admin);
    sockets.push(own.ws, all.ws);
    const adminsUpload = await upload(admin);
    const wendysUpload = await upload(wendy);
    await Promise.all([
      outcomeOn(all, adminsUpload),
      outcomeOn(all, wendysUpload),
      outcomeOn(own, wendysUpload),
    ]);
    expect(own.parsed().filter((m) => m.uuid === adminsUpload)).to.deep.equal([]);
    expect(
      own
        .parsed()
        .filter((m) => m.uuid === wendysUpload)
        .map((m) => m.type ?? m.status),
    ).to.deep.equal(['progress', 'success']);
    expect(
      all
        .parsed()
        .filter((m) => m.type === 'progress')
        .map((m) => m.uuid),
    ).to.deep.equal([adminsUpload, wendysUpload]);
  });

  it('a file of 1 MiB sends no progress, whatever its client reports', async () => {
    const l = await listen(wsUrl('?progress=1'), admin);
    sockets.push(l.ws);
    const uuid = await upload(admin, MiB);
    await outcomeOn(l, uuid);
    expect(
      l
        .parsed()
        .filter((m) => m.uuid === uuid)
        .map((m) => m.type ?? m.status),
    ).to.deep.equal(['success']);
  });

  it('progress=yes, or progress given twice: the upgrade is refused with 400 naming the parameter', async () => {
    for (const query of ['?progress=yes', '?progress=1&progress=1']) {
      let err: { status?: number; body?: string } | undefined;
      try {
        sockets.push((await listen(wsUrl(query), admin)).ws);
      } catch (e) {
        err = e as { status?: number; body?: string };
      }
      expect(err?.status, query).to.equal(400);
      const detail = (JSON.parse(err!.body!) as { errors: { detail: string }[] }).errors[0].detail;
      expect(detail).to.include('query parameter progress');
    }
  });
});

describe('WsResultBroadcaster: progress is never worth a backlog', () => {
  it('a listener behind by more than maxProgressBufferedBytes is skipped for progress, not dropped; a fast one gets every progress', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const quiet = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    };
    const b = new WsResultBroadcaster(quiet, {
      maxBufferedBytes: 64 * MiB,
      pingIntervalMs: 60_000,
      maxProgressBufferedBytes: 64 * 1024,
    });
    const accepted: WebSocket[] = [];
    wss.on('connection', (ws) => {
      accepted.push(ws);
      b.add(ws, { username: 'admin', admin: true, groups: [] }, { progress: true });
    });
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(url);
      await new Promise((r) => ws.once('open', r));
      return ws;
    };
    try {
      const fast = await open();
      const slow = await open();
      await eventually(async () => (accepted.length === 2 ? true : undefined), 'both accepted');
      const fastProgress: unknown[] = [];
      fast.on('message', (d: Buffer) => {
        const m = JSON.parse(d.toString()) as { type?: string };
        if (m.type === 'progress') fastProgress.push(m);
      });
      // The slow listener stops reading; outcomes pile up on its side until it is well behind.
      (slow as unknown as { _socket: Socket })._socket.pause();
      const big = 'x'.repeat(64 * 1024);
      for (let i = 0; accepted[1].bufferedAmount <= 64 * 1024; i++) {
        if (i > 2000) throw new Error('the slow listener never fell behind');
        b.publish(
          {
            client_id: 'c',
            uuid: `u${i}`,
            filepath: '',
            size: 0,
            message: big,
            status: 'error',
            changed: false,
          },
          'admin',
        );
        await b.flushed();
        await new Promise((r) => setImmediate(r));
      }
      const behind = accepted[1].bufferedAmount;
      for (let i = 1; i <= 50; i++)
        b.progress({ uuid: 'p', client_id: 'c', bytes: i * MiB, size: 64 * MiB }, 'admin');
      await b.flushed();
      await eventually(
        async () => (fastProgress.length === 50 ? true : undefined),
        '50 progress on the fast listener',
      );
      expect(accepted[1].bufferedAmount, 'nothing added for the slow listener').to.be.at.most(behind);
      expect(b.size).to.equal(2);
      expect(accepted[1].readyState).to.equal(WebSocket.OPEN);
      fast.terminate();
      slow.terminate();
    } finally {
      b.close();
      wss.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    }
  });
});
