import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCluster } from '../../../src/adapters/config/server-config-cluster.ts';
import { ConfigError, loadServerConfig } from '../../../src/adapters/config/server-config.ts';

describe('rportd.conf [cluster]', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'rportd-cluster-conf-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  let n = 0;
  const load = async (text: string): Promise<ReturnType<typeof loadServerConfig>> => {
    const file = join(dir, `c${++n}.conf`);
    await writeFile(file, text);
    return loadServerConfig(file);
  };
  const errorOf = async (text: string): Promise<string> => {
    try {
      await load(text);
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('without the section: the hostname as node id, no database (SQLite), no NATS', async () => {
    const c = await load('[server]\naddress = "127.0.0.1:0"\n');
    expect(c.cluster).to.deep.equal({ node_id: hostname(), database_url: undefined, nats_url: undefined });
    expect(loadServerConfig().cluster.database_url).to.equal(undefined);
  });

  it('reads node_id, database_url and nats_url', async () => {
    const c = await load(`
[cluster]
node_id = "node-1"
database_url = "postgres://rport:s3cret@db.example:5432/rport"
nats_url = "nats://nats-1:4222, tls://nats-2:4222"
`);
    expect(c.cluster).to.deep.equal({
      node_id: 'node-1',
      database_url: 'postgres://rport:s3cret@db.example:5432/rport',
      nats_url: 'nats://nats-1:4222, tls://nats-2:4222',
    });
    const socket = await load('[cluster]\ndatabase_url = "postgresql:///rport?host=/run/postgresql"\n');
    expect(socket.cluster.database_url).to.equal('postgresql:///rport?host=/run/postgresql');
  });

  it('an unknown key is named, with the keys it knows', async () => {
    const m = await errorOf('[cluster]\ndatabase = "postgres://db/rport"\n');
    expect(m).to.contain('[cluster] database: unknown key').and.contain('database_url');
  });

  it('a database_url that is not postgres:// names the key and never shows the password', async () => {
    const wrong = await errorOf('[cluster]\ndatabase_url = "mysql://rport:hunter22@db/rport"\n');
    expect(wrong).to.contain('[cluster] database_url: must start with postgres:// or postgresql://');
    expect(wrong).to.contain('mysql://rport:***@db/rport').and.not.contain('hunter22');
    const garbled = await errorOf('[cluster]\ndatabase_url = "rport:hunter22@db"\n');
    expect(garbled).to.contain('[cluster] database_url: must start with').and.not.contain('hunter22');
    const notUrl = await errorOf('[cluster]\ndatabase_url = "//rport:hunter22@ db"\n');
    expect(notUrl).to.contain('[cluster] database_url: must be a URL').and.not.contain('hunter22');
    expect(await errorOf('[cluster]\ndatabase_url = ""\n')).to.contain(
      '[cluster] database_url: must not be empty',
    );
    expect(await errorOf('[cluster]\ndatabase_url = 5432\n')).to.contain(
      '[cluster] database_url: must be a string',
    );
  });

  it('a bad nats_url names the key; each URL of a list is checked', async () => {
    expect(await errorOf('[cluster]\nnats_url = "http://nats-1:4222"\n')).to.contain(
      '[cluster] nats_url: must start with nats://',
    );
    expect(await errorOf('[cluster]\nnats_url = "nats://a:4222,https://b"\n')).to.contain(
      '[cluster] nats_url: must start with nats://',
    );
    const noHost = await errorOf('[cluster]\nnats_url = "nats:///x"\n');
    const cut = await errorOf('[cluster]\nnats_url = "nats://user:pw-secret@:4222"\n');
    expect(cut).to.contain('[cluster] nats_url: must be a URL').and.not.contain('pw-secret');
    expect(noHost).to.contain('[cluster] nats_url: names no host');
  });

  it('a bad node_id names the key; a hostname unfit as a node id asks for node_id', async () => {
    expect(await errorOf('[cluster]\nnode_id = "node 1"\n')).to.contain('[cluster] node_id: must be');
    expect(await errorOf('[cluster]\nnode_id = ""\n')).to.contain('[cluster] node_id: must be');
    expect(await errorOf('[cluster]\nnode_id = 7\n')).to.contain('[cluster] node_id: must be a string');
    expect(() => parseCluster({}, 'bad host!')).to.throw(
      ConfigError,
      /the hostname, its default: set node_id/,
    );
  });

  it('the section must be a table', async () => {
    expect(await errorOf('cluster = "postgres://db/rport"\n')).to.contain('[cluster] : must be a table');
  });
});
