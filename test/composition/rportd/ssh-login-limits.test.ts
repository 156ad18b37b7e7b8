import { expect } from 'chai';
import { freePort } from '../../../src/composition/demo/processes.ts';
import { startTestServer, type TestServer } from '../../adapters/http/http-harness.ts';
import { connectRaw } from '../../adapters/ssh/harness.ts';

const PASSWORD = 'agents-password-0123';

/** 'ALLOWED', or why the login failed. */
const login = (port: number, password: string): Promise<string> =>
  connectRaw(port, password).then(
    (c) => (c.end(), 'ALLOWED'),
    (e: Error) => e.message,
  );

describe('rportd.conf [server] max_failed_login and ban_time reach the SSH listener', function () {
  this.timeout(60_000);
  let t: TestServer;
  let port: number;
  before(async () => {
    port = await freePort();
    t = await startTestServer({
      server: { address: `127.0.0.1:${port}`, auth: `agents:${PASSWORD}`, max_failed_login: 2, ban_time: 60 },
      sshAgents: true,
    });
  });
  after(() => t.close());

  it('with max_failed_login = 2 (the default is 5), two wrong passwords ban the address and credential id: the right one is refused next', async () => {
    expect(await login(port, PASSWORD)).to.equal('ALLOWED'); // a success first: the count starts at zero
    // Each failure is answered once its penalty (1 s, the first step) is over, so the second is checked too.
    for (const guess of ['wrong-password-1', 'wrong-password-2'])
      expect(await login(port, guess)).to.not.equal('ALLOWED');
    expect(await login(port, PASSWORD)).to.not.equal('ALLOWED');
  });
});

describe('rportd.conf [server] ban_exempt reaches the SSH listener', function () {
  this.timeout(60_000);
  let t: TestServer;
  let port: number;
  before(async () => {
    port = await freePort();
    t = await startTestServer({
      server: {
        address: `127.0.0.1:${port}`,
        auth: `agents:${PASSWORD}`,
        max_failed_login: 2,
        ban_time: 60,
        ban_exempt: ['127.0.0.0/8'],
      },
      sshAgents: true,
    });
  });
  after(() => t.close());

  it('with 127.0.0.0/8 exempt, the same two wrong passwords ban nothing: the right one is let in next', async () => {
    for (const guess of ['wrong-password-1', 'wrong-password-2'])
      expect(await login(port, guess)).to.not.equal('ALLOWED');
    expect(await login(port, PASSWORD)).to.equal('ALLOWED');
  });
});
