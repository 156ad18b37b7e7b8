import { expect } from 'chai';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import WebSocket from 'ws';
import { parseServerConfig } from '../../../src/adapters/config/server-config.ts';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';
import { startServer } from '../../../src/composition/rportd/start.ts';
import { NatsServerProcess, natsServerOrSkip } from '../../support/nats-server.ts';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

interface Health {
  data: {
    status: string;
    database: { kind: string; ok: boolean };
    nats?: { kind: string; ok: boolean; detail?: string };
    node_id: string;
  };
}

/** An upload's answer: its uuid, or its errors. */
interface Answer {
  data: { uuid: string };
  errors: { code: string; detail: string }[];
}

async function health(t: TestServer): Promise<{ status: number; body: Health }> {
  const res = await fetch(`${t.url}/health`);
  return { status: res.status, body: (await res.json()) as Health };
}

async function upload(t: TestServer, token: string, name: string): Promise<{ status: number; body: Answer }> {
  const fd = new FormData();
  fd.append('upload', new Blob([`${name}\n`]), name);
  fd.append('client_id', 'web-1');
  fd.append('dest', `/srv/${name}`);
  const res = await fetch(`${t.url}/api/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: fd,
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

/** A listener on node t: every text message as sent. */
function listen(t: TestServer, token: string): Promise<{ ws: WebSocket; raw: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/api/v1/ws/uploads`, ['bearer', token]);
    const raw: string[] = [];
    ws.on('message', (d) => raw.push(d.toString()));
    ws.once('open', () => resolve({ ws, raw }));
    ws.once('error', reject);
  });
}

const lines = (t: TestServer, msg: string): number => t.logLines().filter((l) => l.includes(msg)).length;

describe('rportd with [cluster] nats_url (in process, a real nats-server, answers checked against the OpenAPI document)', function () {
  this.timeout(90_000);
  let nats: NatsServerProcess;
  const servers: TestServer[] = [];
  const sockets: WebSocket[] = [];
  before(async function () {
    nats = await NatsServerProcess.start(await natsServerOrSkip(this, 'the rportd NATS health tests'));
  });
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.terminate());
    for (const t of servers.splice(0)) await t.close();
    if (!nats.running) await nats.resume();
  });
  after(() => nats?.dispose());

  const node = async (id: string): Promise<TestServer> => {
    const t = await startTestServer({ cluster: { node_id: id, nats_url: nats.url } });
    servers.push(t);
    return t;
  };

  it('/health shows NATS; while it is down /health is degraded and uploads are 503 naming [cluster] nats_url', async () => {
    const t = await node('nats-health-1');
    const token = await t.login(t.admin.username, t.admin.password);
    await t.presence.announce(clientInfo('web-1'));
    t.agents.connect('web-1');
    expect(await health(t)).to.deep.equal({
      status: 200,
      body: {
        data: {
          status: 'ok',
          database: { kind: 'sqlite', ok: true },
          nats: { kind: 'nats', ok: true },
          node_id: 'nats-health-1',
        },
      },
    });

    await nats.stop();
    const down = await eventually(
      async () => {
        const h = await health(t);
        return h.status === 503 ? h : undefined;
      },
      'a degraded /health',
      1200,
    );
    expect(down.body.data).to.deep.include({ status: 'degraded', database: { kind: 'sqlite', ok: true } });
    expect(down.body.data.nats).to.deep.include({ kind: 'nats', ok: false });
    expect(down.body.data.nats!.detail).to.be.a('string');
    const refused = await upload(t, token, 'during.txt');
    expect(refused.status, JSON.stringify(refused.body)).to.equal(503);
    expect(refused.body.errors[0].code).to.equal('nats-unavailable');
    expect(refused.body.errors[0].detail).to.contain('[cluster] nats_url');
    expect(await readdir(t.filepush), 'nothing staged').to.deep.equal([]);
    await upload(t, token, 'again.txt');

    await nats.resume();
    const up = await eventually(
      async () => ((await health(t)).status === 200 ? true : undefined),
      '/health 200',
      1200,
    );
    expect(up).to.equal(true);
    const accepted = await upload(t, token, 'after.txt');
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(200);
    expect(lines(t, 'NATS unreachable'), 'the outage is logged once as it starts').to.equal(1);
    expect(lines(t, 'NATS answers again'), 'and once as it ends').to.equal(1);
  });

  it("one node's outcome reaches the other node's listeners, filtered by the uploader", async () => {
    const [one, two] = [await node('nats-node-1'), await node('nats-node-2')];
    await one.presence.announce(clientInfo('web-1'));
    one.agents.connect('web-1');
    await two.addUser('olga', 'olga-password-1', []);
    const [adminOne, adminTwo, olgaTwo] = [
      await listen(one, await one.login(one.admin.username, one.admin.password)),
      await listen(two, await two.login(two.admin.username, two.admin.password)),
      await listen(two, await two.login('olga', 'olga-password-1')),
    ];
    sockets.push(adminOne.ws, adminTwo.ws, olgaTwo.ws);
    const sent = await upload(one, await one.login(one.admin.username, one.admin.password), 'x.txt');
    expect(sent.status, JSON.stringify(sent.body)).to.equal(200);
    const uuid = sent.body.data.uuid;
    await eventually(
      async () => (adminTwo.raw.length > 0 && adminOne.raw.length > 0 ? true : undefined),
      'outcomes',
      1200,
    );
    expect(adminTwo.raw).to.deep.equal(adminOne.raw);
    expect(JSON.parse(adminTwo.raw[0])).to.deep.include({ uuid, client_id: 'web-1', status: 'success' });
    // olga did not make the upload: node 2 gives her nothing, as node 1 would. Node 2 sent to her, if
    // at all, in the same pass as to the admin; a pong it sends her now comes after any such message.
    olgaTwo.ws.ping();
    await once(olgaTwo.ws, 'pong');
    expect(olgaTwo.raw).to.deep.equal([]);
  });

  it('an unreachable NATS at start stops it with an error naming [cluster] nats_url', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rportd-nats-start-'));
    try {
      const config = parseServerConfig(
        {
          server: { data_dir: dir, address: '127.0.0.1:0' },
          api: { address: '127.0.0.1:0' },
          cluster: { node_id: 'nats-start', nats_url: 'nats://rport:s3cret-pw@127.0.0.1:1' },
        },
        dir,
      );
      const err = await startServer(config, { logger: new MemoryLogger() }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).to.match(/^\[cluster\] nats_url: /);
      expect(err?.message).not.to.contain('s3cret-pw');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
