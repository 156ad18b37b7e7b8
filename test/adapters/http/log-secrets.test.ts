import { expect } from 'chai';
import WebSocket from 'ws';
import { clientInfo, eventually, startTestServer, type TestServer } from './http-harness.ts';

describe('logs and audit: no password or token in any log line', () => {
  let t: TestServer;
  after(() => t.close());

  it('no password or token in any log line, nor in the audit log, after logins, uploads, failures and a listener', async () => {
    t = await startTestServer();
    const token = await t.login(t.admin.username, t.admin.password);
    await t.addUser('bob', 'bob-secret-pw', ['nobody']);
    const bobToken = await t.login('bob', 'bob-secret-pw');
    await fetch(`${t.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'wrong-guess-pw' }),
    });
    await t.presence.announce(clientInfo('c1'));
    t.agents.connect('c1');
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/api/v1/ws/uploads?access_token=${token}`);
    await new Promise((r) => ws.once('open', r));
    const got: string[] = [];
    ws.on('message', (d) => got.push(d.toString()));
    const send = async (auth: string, dest: string): Promise<void> => {
      const fd = new FormData();
      fd.append('upload', new Blob(['x']), 'x');
      fd.append('client_id', 'c1');
      fd.append('dest', dest);
      await fetch(`${t.url}/api/v1/files`, { method: 'POST', headers: { authorization: auth }, body: fd });
    };
    await send(`Bearer ${token}`, '/tmp/ok');
    await send(`Bearer ${token}`, 'relative');
    await send(`Bearer ${bobToken}`, '/tmp/forbidden');
    await send(`Basic ${Buffer.from('admin:wrong-basic-pw').toString('base64')}`, '/tmp/x');
    await send(`Bearer ${token}x`, '/tmp/x');
    const refused = new WebSocket(
      `${t.url.replace('http', 'ws')}/api/v1/ws/uploads?access_token=${bobToken}x`,
    );
    await new Promise((r) => refused.once('error', r));
    await eventually(async () => (got.length === 1 ? true : undefined), 'the outcome');
    ws.terminate();
    const lines = t.logLines();
    expect(lines.some((l) => l.includes('access_token=[redacted]'))).to.equal(true);
    expect(lines.length).to.be.greaterThan(3);
    const audit = await (
      await fetch(`${t.url}/api/v1/audit-logs?page[limit]=1000`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).text();
    const secrets = [
      t.admin.password,
      'bob-secret-pw',
      'wrong-guess-pw',
      'wrong-basic-pw',
      token,
      bobToken,
      token.split('.')[2],
      Buffer.from('admin:wrong-basic-pw').toString('base64'),
    ];
    for (const line of [...lines, audit])
      for (const s of secrets) expect(line, `a log line holds a secret: ${line}`).to.not.include(s);
  });
});
