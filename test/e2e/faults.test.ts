import { expect } from 'chai';
import { readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RportApiClient } from '../../src/adapters/rportcli-api/rport-api-client.ts';
import { Cluster } from './helpers/cluster.ts';
import { eventually, exists } from './helpers/eventually.ts';

const ALL = ['f-1', 'f-2', 'f-3'];
const BIG = 200 * 1024 * 1024;

/** Resolves with the first `*_rport_filepush` temp file that appears in dir (polled: the agent makes it when its fetch starts). */
async function firstTempFile(dir: string, signal: AbortSignal): Promise<string> {
  while (!signal.aborted) {
    const names = await readdir(dir).catch(() => [] as string[]);
    const temp = names.find((n) => n.endsWith('_rport_filepush'));
    if (temp) return temp;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('gave up waiting for a temp file');
}

describe('e2e faults: kill -9 an agent mid-transfer, restart rportd', function () {
  this.timeout(90_000);
  let c: Cluster;

  before(
    async () =>
      (c = await Cluster.start({ agents: ALL.map((id) => ({ id })), maxFilepushSize: 256 * 1024 * 1024 })),
  );
  after(async () => c?.stop());

  it('kill -9 of one agent mid-transfer: error for it, success for the other two, no leftovers on either side once it restarts', async () => {
    const file = join(c.dir, 'big.img');
    // Sparse: 200 MB on the wire without writing 200 MB to the test's disk first.
    await writeFile(file, '');
    await truncate(file, BIG);
    const dest = c.dest('big/big.img');
    const victimTemp = join(c.agentDataDir('f-2'), 'filepush');

    const listener = await c.listen();
    const watching = new AbortController();
    try {
      const killed = firstTempFile(victimTemp, watching.signal).then(async (name) => {
        await c.agents.get('f-2')!.kill9();
        return name;
      });
      killed.catch(() => undefined); // awaited below; when the upload fails first, the watcher's abort must not go unhandled
      const receipt = await new RportApiClient(c.url, { token: c.token }).upload({
        file,
        clientIds: ALL,
        groupIds: [],
        dest,
      });
      const tempName = await killed;
      const outcomes = await listener.outcomesOf(receipt.uuid, 3, 60_000);
      expect(outcomes.map((o) => [o.client_id, o.status])).to.deep.equal([
        ['f-1', 'success'],
        ['f-2', 'error'],
        ['f-3', 'success'],
      ]);
      expect(outcomes[1].message, 'the error says why').to.not.equal('');
      for (const id of ['f-1', 'f-3'])
        expect((await stat(c.onHost(id, 'big/big.img'))).size, `size on ${id}`).to.equal(BIG);
      expect(await exists(c.onHost('f-2', 'big/big.img')), 'nothing placed on the killed agent').to.equal(
        false,
      );

      // The server removes its staged copy once every target has answered.
      await eventually(
        async () => void expect(await c.filepush(), 'server {data_dir}/filepush').to.deep.equal([]),
      );
      for (const id of ['f-1', 'f-3'])
        expect(await c.filepush(id), `${id} {data_dir}/filepush`).to.deep.equal([]);
      // kill -9 gave the agent no chance to clean up; its next start sweeps the temp file.
      expect(await c.filepush('f-2'), 'the killed agent left its temp file').to.include(tempName);
      const restarted = await c.startAgent('f-2');
      await c.waitConnected(['f-2']);
      await restarted.waitFor(/connected to the server/, 10_000);
      expect(await c.filepush('f-2'), 'f-2 {data_dir}/filepush after restart').to.deep.equal([]);
    } finally {
      watching.abort();
      listener.close();
    }
  });

  it('rportd restarted (SIGTERM, then started on the same ports and data dir): the agents reconnect by themselves and the next upload reaches all', async () => {
    for (const id of ALL) if (!c.agents.get(id)!.running) await c.startAgent(id); // whatever the test before left
    await c.waitConnected(ALL);
    const fingerprint = c.fingerprint;
    expect(await c.rportd.stop(), 'rportd exit code on SIGTERM').to.equal(0);
    await c.startServer();
    expect(c.fingerprint, 'the host key survives the restart').to.equal(fingerprint);
    // The agents back off (1 s doubling, ±50 % jitter): a few seconds are enough, 30 s is generous.
    await c.waitConnected(ALL, 30_000);

    const listener = await c.listen();
    try {
      const res = await c.upload(
        { name: 'upload', filename: 'after-restart.txt', content: Buffer.from('after restart\n') },
        [...ALL.map((id): [string, string] => ['client_id', id]), ['dest', c.dest('restart/after.txt')]],
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const outcomes = await listener.outcomesOf((res.body.data as { uuid: string }).uuid, 3);
      expect(outcomes.map((o) => [o.client_id, o.status])).to.deep.equal(ALL.map((id) => [id, 'success']));
    } finally {
      listener.close();
    }
  });
});
