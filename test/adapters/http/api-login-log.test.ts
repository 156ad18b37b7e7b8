import { expect } from 'chai';
import { startTestServer, type TestServer } from './http-harness.ts';

type Line = Record<string, unknown>;

describe('rportd logs failed API logins, the ban and each 429', function () {
  this.timeout(30_000);
  let t: TestServer;
  before(async () => (t = await startTestServer({ api: { max_failed_login: 2, ban_time: 120 } })));
  after(() => t.close());

  const lines = (msg: string): Line[] =>
    t
      .logLines()
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => typeof l.msg === 'string' && l.msg.startsWith(msg));
  const login = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${t.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('a wrong password by JSON and by basic auth: one warn line each, with username and address, never the password', async () => {
    expect((await login({ username: 'admin', password: 'wrong-pass-1' })).status).to.equal(401);
    const basic = Buffer.from('mallory:wrong-pass-2').toString('base64');
    expect(
      (await fetch(`${t.url}/api/v1/clients`, { headers: { authorization: `Basic ${basic}` } })).status,
    ).to.equal(401);
    const failed = lines('API login failed');
    expect(failed.map((l) => [l.level, l.username, l.address, l.failures])).to.deep.equal([
      ['warn', 'admin', '127.0.0.1', 1],
      ['warn', 'mallory', '127.0.0.1', 2],
    ]);
    expect(t.logLines().join('\n')).to.not.include('wrong-pass-');
  });

  it('the failure that reaches max_failed_login starts a ban, logged with its expiry', () => {
    const [ban] = lines('API login banned');
    expect(ban).to.include({ level: 'warn', address: '127.0.0.1', username: 'mallory', ban_s: 120 });
    const expires = Date.parse(ban.expires_at as string);
    const at = Date.parse(ban.time as string);
    expect(expires - at).to.be.within(119_000, 121_000);
  });

  it('the 429 that follows is logged with the address and what it said; a second within the window only counts', async () => {
    const first = await login({ username: 'admin', password: t.admin.password });
    expect(first.status).to.equal(429);
    expect((await login({ username: 'admin', password: 'x' })).status).to.equal(429);
    const tooMany = lines('answered 429');
    expect(tooMany).to.have.length(1);
    expect(tooMany[0]).to.include({
      level: 'warn',
      address: '127.0.0.1',
      method: 'POST',
      path: '/api/v1/login',
      code: 'too-many-failed-logins',
      suppressed: 0,
    });
    expect(tooMany[0].detail).to.match(/\[api\] max_failed_login/);
  });
});
