import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runToExit } from '../support/exit-run.ts';
import { sharedPostgres, type TestPostgres } from '../support/postgres.ts';
import { Cluster } from './helpers/cluster.ts';
import { BIN, freePort, requireBuilt } from './helpers/processes.ts';

/** One query on the test database, outside rportd: what PostgreSQL really holds. */
async function query<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

// rportd and a real agent as processes, with `[cluster] database_url` naming a private PostgreSQL
// (an empty database: rportd migrates it at start). Nothing of the state may land in SQLite.
describe('rportd process on PostgreSQL ([cluster] database_url)', function () {
  this.timeout(120_000);
  let server: TestPostgres;
  let url: string;
  let c: Cluster | undefined;
  before(async function () {
    server = await sharedPostgres(this, 'the rportd-on-PostgreSQL process tests');
    requireBuilt();
  });
  beforeEach(async () => {
    url = await server.emptyDatabase();
  });
  afterEach(async () => {
    await c?.stop();
    c = undefined;
    await server.drop(url);
  });

  it('an upload ends as success in PostgreSQL with its audit entries; users, results and audit survive a restart', async () => {
    c = await Cluster.start({
      agents: [{ id: 'pg-1' }],
      databaseUsers: true,
      sections: `[cluster]\nnode_id = "e2e-node"\ndatabase_url = "${url}"\n`,
    });
    const password = new URL(url).password;
    expect(c.rportd.output()).to.contain('stores on PostgreSQL').and.not.contain(password);
    expect(
      await query(url, 'SELECT id, connected, node_id FROM clients'),
      'the registry holds the agent, on this node',
    ).to.deep.equal([{ id: 'pg-1', connected: true, node_id: 'e2e-node' }]);

    const res = await c.upload(
      { name: 'upload', filename: 'pg.txt', content: Buffer.from('on postgres\n') },
      [
        ['client_id', 'pg-1'],
        ['dest', c.dest('pg/pg.txt')],
      ],
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const uuid = (res.body.data as { uuid: string }).uuid;
    const stored = async () =>
      query<{ client_id: string; status: string; node_id: string }>(
        url,
        'SELECT client_id, status, node_id FROM upload_results WHERE uuid = $1',
        [uuid],
      );
    for (let i = 0; i < 300 && (await stored())[0]?.status === 'pending'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await stored()).to.deep.equal([{ client_id: 'pg-1', status: 'success', node_id: 'e2e-node' }]);
    expect(
      await query(url, 'SELECT action, client_id FROM audit_log WHERE upload_uuid = $1 ORDER BY id', [uuid]),
    ).to.deep.equal([
      { action: 'accepted', client_id: null },
      { action: 'success', client_id: 'pg-1' },
    ]);

    // The users API writes to PostgreSQL.
    const created = await c.api('POST', '/api/v1/users', {
      username: 'uma',
      password: 'uma-password-1',
      groups: ['Web'],
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(await query(url, 'SELECT username FROM api_users ORDER BY username')).to.deep.equal([
      { username: 'admin' },
      { username: 'uma' },
    ]);

    // A clean restart on the same database: the admin is not made again, and everything is there.
    expect(await c.rportd.stop()).to.equal(0);
    await c.startServer();
    expect(c.rportd.output()).not.to.contain('with password:').and.not.contain(password);
    c.token = await c.login();
    const after = await c.api('GET', `/api/v1/files/${uuid}`);
    expect(after.status).to.equal(200);
    expect(
      (after.body!.data as { targets: { status: string }[] }).targets.map((t) => t.status),
    ).to.deep.equal(['success']);
    const audit = await c.api('GET', `/api/v1/audit-logs?filter[upload_uuid]=${uuid}`);
    expect((audit.body!.data as unknown[]).length).to.equal(2);
    const users = await c.api('GET', '/api/v1/users');
    expect((users.body!.data as { username: string }[]).map((u) => u.username)).to.include('uma');
  });

  it('--reset-admin-password resets the user in PostgreSQL, where every node reads it', async () => {
    c = await Cluster.start({
      agents: [],
      databaseUsers: true,
      sections: `[cluster]\nnode_id = "e2e-node"\ndatabase_url = "${url}"\n`,
    });
    expect(await c.rportd.stop()).to.equal(0);
    const reset = await runToExit(
      [process.execPath, BIN.rportd, '--config', join(c.dir, 'rportd.conf'), '--reset-admin-password'],
      {
        env: { PATH: process.env.PATH, RPORTD_ADMIN_PASSWORD: 'reset-on-postgres-1' },
      },
    );
    expect(reset.code, reset.stderr).to.equal(0);
    expect(reset.stderr).to.contain('reset API user "admin"');
    await c.startServer();
    const old = c.admin.password;
    c.admin.password = 'reset-on-postgres-1';
    expect(await c.login()).to.be.a('string');
    c.admin.password = old;
    await expectRefused(c);
  });

  it('a database it cannot reach stops the start with exit 2, naming [cluster] database_url, never the password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rportd-pg-down-'));
    try {
      const down = new URL(url);
      down.port = String(await freePort());
      const conf = join(dir, 'rportd.conf');
      await writeFile(
        conf,
        `[server]\naddress = "127.0.0.1:0"\ndata_dir = "data"\n[api]\naddress = "127.0.0.1:0"\n` +
          `[cluster]\ndatabase_url = "${down.toString()}"\n`,
      );
      const r = await runToExit([process.execPath, BIN.rportd, '--config', conf], { cwd: dir });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`${conf}: [cluster] database_url: cannot use the database`);
      expect(r.stderr).to.contain('postgres://rport:***@127.0.0.1:');
      expect(r.stderr + r.stdout).not.to.contain(down.password);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Logging in with the password from before the reset is refused. */
async function expectRefused(c: Cluster): Promise<void> {
  const res = await fetch(`${c.url}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(c.admin),
  });
  expect(res.status).to.equal(401);
}
