import { expect } from 'chai';
import ssh2 from 'ssh2';
import { freePort } from '../../src/composition/demo-processes.ts';
import { startTestServer, type TestServer } from '../adapters/http/http-harness.ts';

const PASSWORD = 'agents-password-0123';

function login(port: number, password: string): Promise<string> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    c.once('ready', () => (c.end(), resolve('ALLOWED')));
    c.once('error', (e) => resolve(e.message));
    c.once('close', () => resolve('closed by the server'));
    c.connect({ host: '127.0.0.1', port, username: 'agents', password, hostVerifier: () => true, readyTimeout: 10_000 });
  });
}

describe('rportd.conf [server] max_failed_login and ban_time reach the SSH listener', function () {
  this.timeout(60_000);
  let t: TestServer;
  let port: number;
  before(async () => {
    port = await freePort();
    t = await startTestServer({ server: { address: `127.0.0.1:${port}`, auth: `agents:${PASSWORD}`, max_failed_login: 2, ban_time: 60 }, sshAgents: true });
  });
  after(() => t.close());

  it('with max_failed_login = 2 (the default is 5), two wrong passwords ban the address: the right one is refused next', async () => {
    expect(await login(port, PASSWORD)).to.equal('ALLOWED'); // a success first: the count starts at zero
    for (let i = 0; i < 2; i++) expect(await login(port, 'wrong-password')).to.not.equal('ALLOWED');
    expect(await login(port, PASSWORD)).to.not.equal('ALLOWED');
  });
});
