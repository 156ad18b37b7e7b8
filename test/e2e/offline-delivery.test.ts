import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster } from './helpers/cluster.ts';
import { eventually } from './helpers/eventually.ts';
import { BIN, runToEnd } from './helpers/processes.ts';

interface Target {
  client_id: string;
  status: string;
  message: string;
  attempt: number;
}

const IDS = ['o-1', 'o-2', 'o-3'];
/** Waits are on states (a target's outcome, a client's presence), never on the clock; this only bounds a hang. */
const STATE_WAIT_MS = 60_000;

async function targets(c: Cluster, uuid: string): Promise<Target[]> {
  const res = await c.api('GET', `/api/v1/files/${uuid}`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return (res.body!.data as { targets: Target[] }).targets;
}

async function statusesOf(c: Cluster, uuid: string): Promise<string[][]> {
  return (await targets(c, uuid)).map((t) => [t.client_id, t.status]);
}

/** Stops an agent by pid and waits until rportd shows it disconnected. */
async function stopAgent(c: Cluster, id: string): Promise<void> {
  await c.agents.get(id)!.stop();
  await eventually(async () => {
    const res = await c.api('GET', '/api/v1/clients');
    const client = (res.body!.data as { id: string; connected: boolean }[]).find((x) => x.id === id);
    expect(client?.connected, `${id} connected`).to.equal(false);
  }, STATE_WAIT_MS);
}

async function pushToAll(c: Cluster, content: Buffer, rel: string, offlineTtl: string): Promise<string> {
  const res = await c.upload({ name: 'upload', filename: 'app.conf', content }, [
    ...IDS.map((id): [string, string] => ['client_id', id]),
    ['dest', c.dest(rel)],
    ['offline_ttl', offlineTtl],
  ]);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return (res.body.data as { uuid: string }).uuid;
}

/** o-1 and o-2 got the file; o-3 (stopped) waits in the queue, pending, its message saying so. */
async function twoPlacedOneQueued(c: Cluster, uuid: string): Promise<void> {
  await eventually(async () => {
    expect(await statusesOf(c, uuid)).to.deep.equal([
      ['o-1', 'success'],
      ['o-2', 'success'],
      ['o-3', 'pending'],
    ]);
    const o3 = (await targets(c, uuid))[2];
    expect(o3.message).to.match(
      /^queued: client o-3 is not connected; it is pushed when the client connects, until /,
    );
  }, STATE_WAIT_MS);
}

describe('rportd, agents as processes: an offline client is served when it connects (offline_ttl)', function () {
  this.timeout(180_000);
  let c: Cluster | undefined;
  afterEach(async () => c?.stop());

  it('a push to three clients, one stopped: the stopped one gets the file once it starts, then the staged file goes', async () => {
    c = await Cluster.start({ agents: IDS.map((id) => ({ id })) });
    await stopAgent(c, 'o-3');
    const content = randomBytes(50_000);
    const uuid = await pushToAll(c, content, 'etc/app.conf', '600');
    await twoPlacedOneQueued(c, uuid);
    expect(await c.filepush(), 'kept for the queued target').to.deep.equal([`${uuid}_rport_filepush`]);

    await c.startAgent('o-3');
    await eventually(async () => {
      expect(await statusesOf(c!, uuid)).to.deep.equal([
        ['o-1', 'success'],
        ['o-2', 'success'],
        ['o-3', 'success'],
      ]);
    }, STATE_WAIT_MS);
    expect((await readFile(c.onHost('o-3', 'etc/app.conf'))).equals(content)).to.equal(true);
    await eventually(async () => void expect(await c!.filepush(), 'server filepush').to.deep.equal([]));
    const audit = await c.api('GET', `/api/v1/audit-logs?filter[upload_uuid]=${uuid}&filter[client_id]=o-3`);
    expect((audit.body!.data as { action: string }[]).map((e) => e.action)).to.deep.equal(['success']);

    // keep_staged_for = 0 here: once the push is over its file is gone, and a retry says so.
    const retry = await c.api('POST', `/api/v1/files/${uuid}/retry`);
    expect(retry.status).to.equal(410);
    const [error] = (retry.body as { errors: { code: string; title: string; detail: string }[] }).errors;
    expect(error).to.include({ code: 'gone', title: 'Gone' });
    expect(error.detail).to.contain(`the staged file of upload ${uuid} is gone`);
  });

  it('the same with rportd killed and started again in between: the queue outlives the restart', async () => {
    c = await Cluster.start({ agents: IDS.map((id) => ({ id })) });
    await stopAgent(c, 'o-3');
    const content = randomBytes(20_000);
    const uuid = await pushToAll(c, content, 'srv/cert.pem', '600');
    await twoPlacedOneQueued(c, uuid);

    await c.rportd.kill9();
    await c.startServer();
    expect(c.rportd.output()).not.to.include('ended the pushes an earlier run left pending');
    expect(c.rportd.output()).to.include('offline queue resumed');
    await twoPlacedOneQueued(c, uuid);
    expect(await c.filepush(), 'the restart kept the staged file of the queued target').to.deep.equal([
      `${uuid}_rport_filepush`,
    ]);

    await c.startAgent('o-3');
    await eventually(async () => {
      expect((await statusesOf(c!, uuid))[2]).to.deep.equal(['o-3', 'success']);
    }, STATE_WAIT_MS);
    expect((await readFile(c.onHost('o-3', 'srv/cert.pem'))).equals(content)).to.equal(true);
    await eventually(async () => void expect(await c!.filepush()).to.deep.equal([]));
  });
});

describe('rportd, agents as processes: retry (POST /api/v1/files/:uuid/retry, rportcli retry)', function () {
  this.timeout(180_000);
  let c: Cluster | undefined;
  afterEach(async () => c?.stop());

  it('a target that failed because its client was offline gets the file on `rportcli retry`, attempt 2, audited', async () => {
    c = await Cluster.start({
      agents: [{ id: 'r-1' }, { id: 'r-2' }],
      serverLines: ['keep_staged_for = 3600'],
    });
    await c.agents.get('r-2')!.stop();
    await eventually(async () => {
      const res = await c!.api('GET', '/api/v1/clients');
      expect(
        (res.body!.data as { id: string; connected: boolean }[]).find((x) => x.id === 'r-2')?.connected,
      ).to.equal(false);
    }, STATE_WAIT_MS);
    const content = randomBytes(10_000);
    const res = await c.upload({ name: 'upload', filename: 'a.bin', content }, [
      ['client_id', 'r-1'],
      ['client_id', 'r-2'],
      ['dest', c.dest('retry/a.bin')],
    ]);
    const uuid = (res.body.data as { uuid: string }).uuid;
    await eventually(async () => {
      expect(await statusesOf(c!, uuid)).to.deep.equal([
        ['r-1', 'success'],
        ['r-2', 'error'],
      ]);
    }, STATE_WAIT_MS);
    expect(await c.filepush(), 'kept for keep_staged_for').to.deep.equal([`${uuid}_rport_filepush`]);

    await c.startAgent('r-2');
    await c.waitConnected(['r-2']);
    const env = {
      PATH: process.env.PATH,
      HOME: c.dir,
      XDG_CONFIG_HOME: join(c.dir, 'config'),
      RPORT_API_URL: c.url,
      RPORT_API_USER: c.admin.username,
      RPORT_API_PASSWORD: c.admin.password,
    };
    const r = await runToEnd(BIN.rportcli, ['retry', uuid, '--timeout', '60'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`retrying upload ${uuid} on 1 target: r-2`);
    expect(r.stdout).to.contain('2 targets: 2 success');
    expect((await targets(c, uuid)).map((t) => [t.client_id, t.status, t.attempt])).to.deep.equal([
      ['r-1', 'success', 1],
      ['r-2', 'success', 2],
    ]);
    expect((await readFile(c.onHost('r-2', 'retry/a.bin'))).equals(content)).to.equal(true);
    const audit = await c.api('GET', `/api/v1/audit-logs?filter[upload_uuid]=${uuid}&filter[action]=retry`);
    const entries = audit.body!.data as { username: string; request: { targets: string[] } }[];
    expect(entries.map((e) => [e.username, e.request.targets])).to.deep.equal([[c.admin.username, ['r-2']]]);

    // Nothing failed any more: the retry is refused as a conflict, and rportcli says why.
    const again = await runToEnd(BIN.rportcli, ['retry', uuid], env);
    expect(again.code).not.to.equal(0);
    expect(again.stderr).to.contain('nothing to retry');
    expect(await readdir(join(c.serverDataDir, 'filepush'))).to.deep.equal([`${uuid}_rport_filepush`]);
  });
});
