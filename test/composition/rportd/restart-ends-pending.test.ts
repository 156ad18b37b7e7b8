import { expect } from 'chai';
import { RESTARTED_MESSAGE } from '../../../src/domain/end-stranded-pushes.ts';
import { Cluster } from '../../e2e/helpers/cluster.ts';

interface Target {
  client_id: string;
  status: string;
  message: string;
}

// rportd and one real agent as processes. The agent is stopped (SIGSTOP) so that the push it is
// sent can never be confirmed; rportd is then killed -9 and started again on the same data_dir.
describe('rportd process: a restart ends the pushes the killed run left pending', function () {
  this.timeout(90_000);
  let c: Cluster | undefined;
  let stoppedAgent: number | undefined;

  afterEach(async () => {
    // A stopped process ignores SIGTERM until it continues.
    if (stoppedAgent !== undefined) process.kill(stoppedAgent, 'SIGCONT');
    await c?.stop();
  });

  it('kill -9 mid-push, start again: the target ends as error with the restart message, audited, and the staged file is gone', async () => {
    c = await Cluster.start({ agents: [{ id: 'r-1' }] });
    const targets = async (uuid: string): Promise<Target[]> => {
      const res = await c!.api('GET', `/api/v1/files/${uuid}`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return (res.body!.data as { targets: Target[] }).targets;
    };
    const agent = c.agents.get('r-1')!;
    process.kill(agent.pid, 'SIGSTOP');
    stoppedAgent = agent.pid;

    const res = await c.upload(
      { name: 'upload', filename: 'never.txt', content: Buffer.from('never confirmed\n') },
      [
        ['client_id', 'r-1'],
        ['dest', c.dest('restart/never.txt')],
      ],
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const uuid = (res.body.data as { uuid: string }).uuid;
    expect((await targets(uuid)).map((t) => t.status)).to.deep.equal(['pending']);
    expect(await c.filepush(), 'staged while the push is in flight').to.deep.equal([
      `${uuid}_rport_filepush`,
    ]);

    await c.rportd.kill9();
    // Same ports, same data_dir; the API answers only once the stranded push is ended.
    await c.startServer();
    expect((await targets(uuid)).map((t) => [t.client_id, t.status, t.message])).to.deep.equal([
      ['r-1', 'error', RESTARTED_MESSAGE],
    ]);
    expect(await c.filepush(), 'server {data_dir}/filepush after the restart').to.deep.equal([]);
    expect(c.rportd.output()).to.include('ended the pushes an earlier run left pending');

    const audit = await c.api('GET', `/api/v1/audit-logs?filter[upload_uuid]=${uuid}&filter[action]=error`);
    const entries = audit.body!.data as {
      username: string;
      client_id: string;
      request: { message: string };
    }[];
    expect(entries.map((e) => [e.username, e.client_id, e.request.message])).to.deep.equal([
      [c.admin.username, 'r-1', RESTARTED_MESSAGE],
    ]);
  });
});
