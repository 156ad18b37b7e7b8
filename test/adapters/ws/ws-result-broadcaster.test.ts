import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { WsResultBroadcaster } from '../../../src/adapters/ws/ws-result-broadcaster.ts';
import type { PushOutcome } from '../../../src/domain/outcome.ts';
import { clientInfo, eventually, startTestServer, type TestServer } from '../http/http-harness.ts';

type Live = PushOutcome;

/** Opens a listener and collects what it receives. */
function listen(url: string, protocols?: string[]): Promise<{ ws: WebSocket; got: Live[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const got: Live[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString()) as Live));
    ws.once('open', () => resolve({ ws, got }));
    ws.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once('error', reject);
  });
}

describe('WebSocket /api/v1/ws/uploads (real ws sockets)', () => {
  let t: TestServer;
  let admin: string;
  let wendy: string;
  const wsUrl = (): string => `${t.url.replace('http', 'ws')}/api/v1/ws/uploads`;
  const sockets: WebSocket[] = [];

  before(async () => {
    t = await startTestServer();
    admin = await t.login(t.admin.username, t.admin.password);
    for (const [id, tag] of [
      ['web-1', 'web'],
      ['db-1', 'db'],
    ]) {
      await t.presence.announce(clientInfo(id, { tags: [tag] }));
      t.agents.connect(id);
    }
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

  const upload = async (token: string, clientIds: string[], dest: string): Promise<string> => {
    const fd = new FormData();
    fd.append('upload', new Blob(['live bytes']), 'f.txt');
    for (const id of clientIds) fd.append('client_id', id);
    fd.append('dest', dest);
    const res = await fetch(`${t.url}/api/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: fd,
    });
    expect(res.status).to.equal(200);
    return ((await res.json()) as { data: { uuid: string } }).data.uuid;
  };
  const outcomesOf = async (l: { got: Live[] }, uuid: string, count: number): Promise<Live[]> =>
    eventually(async () => {
      const mine = l.got.filter((o) => o.uuid === uuid);
      return mine.length === count ? mine.sort((a, b) => a.client_id.localeCompare(b.client_id)) : undefined;
    }, `${count} outcomes of ${uuid}`);
  const query = async (token: string, uuid: string): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${t.url}/api/v1/files/${uuid}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, body: await res.json() };
  };

  it('a non-admin listener gets exactly the outcomes GET /api/v1/files/:uuid lets that user read', async () => {
    const all = await listen(wsUrl(), ['bearer', admin]);
    const own = await listen(`${wsUrl()}?access_token=${encodeURIComponent(wendy)}`);
    sockets.push(all.ws, own.ws);
    expect(all.ws.protocol).to.equal('bearer');
    // The admin's pushes: to a client wendy cannot reach, and to one she can.
    const unreachable = await upload(admin, ['db-1'], '/srv/db-only.txt');
    const reachable = await upload(admin, ['web-1', 'db-1'], '/srv/both.txt');
    await outcomesOf(all, unreachable, 1);
    await outcomesOf(all, reachable, 2);
    // Wendy's own push, broadcast after the admin's: one socket delivers in order, so once it is
    // there, anything of the admin's that was going to reach her is there too.
    const hers = await upload(wendy, ['web-1'], '/srv/hers.txt');
    const [mine] = await outcomesOf(own, hers, 1);
    expect(own.got, 'the non-admin listener got only her own upload').to.have.length(1);
    expect(mine).to.deep.equal({
      client_id: 'web-1',
      uuid: hers,
      filepath: '/srv/hers.txt',
      size: 10,
      message: 'file successfully copied to destination',
      status: 'success',
      changed: true,
    });
    expect(await outcomesOf(all, hers, 1), 'the admin listener gets every upload').to.deep.equal([mine]);

    for (const uuid of [unreachable, reachable]) {
      const q = await query(wendy, uuid);
      expect(q.status, JSON.stringify(q.body)).to.equal(403);
      expect(q.body).to.have.nested.property('errors[0].detail').that.includes(uuid);
      expect((await query(admin, uuid)).status).to.equal(200);
    }
    const q = await query(wendy, hers);
    expect(q.status, JSON.stringify(q.body)).to.equal(200);
    const stored = (q.body as { data: { requested_by: string; targets: Live[] } }).data;
    expect(stored.requested_by).to.equal('wendy');
    expect(stored.targets.map((o) => [o.client_id, o.status, o.filepath, o.size, o.message])).to.deep.equal([
      [mine.client_id, mine.status, mine.filepath, mine.size, mine.message],
    ]);
  });

  it('no token, a bad token, an expired-looking token: the upgrade is refused with 401', async () => {
    for (const attempt of [
      () => listen(wsUrl()),
      () => listen(wsUrl(), ['bearer', 'not.a.token']),
      () => listen(`${wsUrl()}?access_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.`),
    ]) {
      let err: { status?: number } | undefined;
      try {
        sockets.push((await attempt()).ws);
      } catch (e) {
        err = e as { status?: number };
      }
      expect(err?.status).to.equal(401);
    }
  });

  it('a listener that goes away does not stop the others', async () => {
    const gone = await listen(wsUrl(), ['bearer', admin]);
    const stays = await listen(wsUrl(), ['bearer', admin]);
    sockets.push(stays.ws);
    gone.ws.terminate();
    const uuid = await upload(admin, ['web-1', 'db-1'], '/srv/after-gone.txt');
    await eventually(
      async () => (stays.got.filter((o) => o.uuid === uuid).length === 2 ? true : undefined),
      'both outcomes on the remaining listener',
    );
  });

  it('another upgrade path gets 404', async () => {
    let err: { status?: number } | undefined;
    try {
      await listen(`${t.url.replace('http', 'ws')}/api/v1/ws/elsewhere`, ['bearer', admin]);
    } catch (e) {
      err = e as { status?: number };
    }
    expect(err?.status).to.equal(404);
  });
});

describe('WsResultBroadcaster: a slow listener is dropped, fast ones get every outcome', () => {
  let http: Server;
  let wss: WebSocketServer;
  before(async () => {
    http = createServer();
    wss = new WebSocketServer({ server: http });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    wss.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });

  it('drops the listener whose unsent bytes exceed the bound, without waiting for it', async () => {
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    };
    const b = new WsResultBroadcaster(logger, { maxBufferedBytes: 256 * 1024, pingIntervalMs: 60_000 });
    const caller = { username: 'admin', admin: true, groups: [] };
    const accepted: WebSocket[] = [];
    wss.on('connection', (ws) => {
      accepted.push(ws);
      b.add(ws, caller);
    });
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(url);
      await new Promise((r) => ws.once('open', r));
      return ws;
    };
    const fast = await open();
    const slow = await open();
    await eventually(async () => (accepted.length === 2 ? true : undefined), 'both accepted');
    // The slow listener stops reading: its socket's buffers fill up.
    (slow as unknown as { _socket: Socket })._socket.pause();
    let fastCount = 0;
    fast.on('message', () => fastCount++);
    const big = 'x'.repeat(64 * 1024);
    const total = 600;
    for (let i = 0; i < total; i++) {
      const o: PushOutcome = {
        client_id: 'c',
        uuid: `u${i}`,
        filepath: '',
        size: 0,
        message: big,
        status: 'error',
        changed: false,
      };
      b.publish(o, 'admin');
      // Outcomes trickle in as clients answer: let the sockets drain between them.
      await b.flushed();
      await new Promise((r) => setImmediate(r));
    }
    await b.flushed();
    await eventually(
      async () => (fastCount === total ? true : undefined),
      'every outcome on the fast listener',
      400,
    );
    expect(b.size).to.equal(1);
    expect(accepted[0].readyState).to.equal(WebSocket.OPEN);
    expect(accepted[1].readyState).to.not.equal(WebSocket.OPEN);
    b.close();
    fast.terminate();
    slow.terminate();
  });
});
