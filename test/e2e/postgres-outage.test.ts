import { expect } from 'chai';
import { privatePostgres, type TestPostgres } from '../support/postgres.ts';
import { Cluster } from './helpers/cluster.ts';
import { requireBuilt } from './helpers/processes.ts';

interface Health {
  data: { status: string; database: { kind: string; ok: boolean; detail?: string }; node_id: string };
}

/** GET /health, without auth. */
async function health(c: Cluster): Promise<{ status: number; body: Health }> {
  const res = await fetch(`${c.url}/health`);
  return { status: res.status, body: (await res.json()) as Health };
}

/** Until GET /health answers `status`; the last answer. */
async function healthBecomes(c: Cluster, status: number): Promise<{ status: number; body: Health }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const h = await health(c);
    if (h.status === status || Date.now() > deadline) return h;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const occurrences = (text: string, s: string): number => text.split(s).length - 1;

// Issue 21 item 6: the shared database goes away while rportd runs, and comes back. The node says so
// on /health and in its log, refuses uploads with 503 meanwhile (staging nothing), and recovers
// without a restart. The suite has its own PostgreSQL server, since it stops it.
describe('rportd process when its PostgreSQL goes away and comes back', function () {
  this.timeout(180_000);
  let server: TestPostgres | undefined;
  let c: Cluster | undefined;
  before(async function () {
    server = await privatePostgres(this, 'the PostgreSQL outage process test');
    requireBuilt();
  });
  after(async () => {
    await c?.stop();
    server?.stopSync();
  });

  it('/health and uploads answer 503 while PostgreSQL is stopped, and 200 once it runs again', async () => {
    const url = await server!.emptyDatabase();
    c = await Cluster.start({
      agents: [{ id: 'pg-out-1' }],
      databaseUsers: true,
      sections: `[cluster]\nnode_id = "e2e-outage"\ndatabase_url = "${url}"\n`,
    });
    const pid = c.rportd.pid;
    const upload = (name: string) =>
      c!.upload({ name: 'upload', filename: name, content: Buffer.from(`${name}\n`) }, [
        ['client_id', 'pg-out-1'],
        ['dest', c!.dest(`out/${name}`)],
      ]);
    expect(await health(c)).to.deep.equal({
      status: 200,
      body: { data: { status: 'ok', database: { kind: 'postgres', ok: true }, node_id: 'e2e-outage' } },
    });

    server!.pause();
    const down = await healthBecomes(c, 503);
    expect(down.status, JSON.stringify(down.body)).to.equal(503);
    expect(down.body.data).to.deep.include({ status: 'degraded', node_id: 'e2e-outage' });
    expect(down.body.data.database).to.deep.include({ kind: 'postgres', ok: false });
    expect(down.body.data.database.detail).to.be.a('string').and.not.contain(new URL(url).password);

    const refused = await upload('during.txt');
    expect(refused.status, JSON.stringify(refused.body)).to.equal(503);
    const [err] = refused.body.errors as { code: string; detail: string }[];
    expect(err.code).to.equal('database-unavailable');
    expect(err.detail).to.contain('[cluster] database_url');
    expect(await c.filepush(), 'nothing staged').to.deep.equal([]);
    expect(c.rportd.running, 'rportd still runs').to.equal(true);

    server!.resume();
    const up = await healthBecomes(c, 200);
    expect(up.body.data).to.deep.equal({
      status: 'ok',
      database: { kind: 'postgres', ok: true },
      node_id: 'e2e-outage',
    });
    const accepted = await upload('after.txt');
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(200);
    expect(c.rportd.pid, 'the same rportd process').to.equal(pid);

    // The outage is in the log once as it starts and once as it ends, never the password.
    const log = c.rportd.output();
    expect(occurrences(log, 'PostgreSQL unreachable'), log).to.equal(1);
    expect(occurrences(log, 'PostgreSQL answers again'), log).to.equal(1);
    expect(log).not.to.contain(new URL(url).password);
  });
});
