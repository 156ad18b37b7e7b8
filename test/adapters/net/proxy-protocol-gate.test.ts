import { expect } from 'chai';
import Koa from 'koa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import ssh2 from 'ssh2';
import { DEFAULT_AUTH_GUARD } from '../../../src/adapters/auth/auth-guard.ts';
import { HttpServer } from '../../../src/adapters/http/http-server.ts';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';
import { ProxyProtocolGate } from '../../../src/adapters/net/proxy-protocol-gate.ts';
import { haveOpenssl, selfSigned } from '../../support/self-signed.ts';
import { PASSWORD, startServer, type TestServer } from '../ssh/harness.ts';
import { v2, v2Tcp4 } from './proxy-headers.ts';

const KEY = '[api] proxy_protocol_from';
const v1 = (src: string) => `PROXY TCP4 ${src} 127.0.0.1 40000 3000\r\n`;
const GET = 'GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

/** Opens a TCP connection, writes the chunks in turn; resolves with all it read until the server closed. */
function exchange(port: number, chunks: (string | Buffer)[]): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.once('connect', async () => {
      for (const c of chunks) {
        s.write(c);
        await new Promise((r) => setImmediate(r));
      }
    });
  });
}
const bodyOf = (answer: string) => answer.split('\r\n\r\n')[1] ?? '';

describe('PROXY protocol on the API listener (socket level)', function () {
  this.timeout(20_000);
  let http: HttpServer | undefined;
  let logger: MemoryLogger;
  let upgraded: string[];

  async function start(from: string[], tls?: { cert: Buffer; key: Buffer }): Promise<number> {
    logger = new MemoryLogger();
    upgraded = [];
    const app = new Koa();
    app.use((ctx) => {
      ctx.body = `ip=${ctx.ip}`;
    });
    http = new HttpServer(app, tls, new ProxyProtocolGate({ from, key: KEY, timeoutMs: 300 }, logger));
    http.onUpgrade('/ws', (req, socket) => {
      upgraded.push(req.socket.remoteAddress ?? '');
      socket.destroy();
    });
    return http.listen('127.0.0.1', 0);
  }
  afterEach(async () => {
    await http?.close();
    http = undefined;
  });
  const warns = () => logger.lines.filter((l) => l.level === 'warn');

  it('takes the source of a v1 or v2 header from a trusted proxy as the peer, in any chunking', async () => {
    const port = await start(['127.0.0.1']);
    expect(bodyOf(await exchange(port, [v1('203.0.113.7') + GET]))).to.equal('ip=203.0.113.7');
    const h = v2Tcp4('198.51.100.9', 5555);
    const bytes = [...Buffer.concat([h, Buffer.from(GET)])].map((b) => Buffer.from([b]));
    expect(bodyOf(await exchange(port, bytes))).to.equal('ip=198.51.100.9');
    expect(bodyOf(await exchange(port, [h.subarray(0, 10), h.subarray(10), GET]))).to.equal(
      'ip=198.51.100.9',
    );
    // A LOCAL header (the proxy's own health check) keeps the socket's address.
    expect(bodyOf(await exchange(port, [v2(0, 0, Buffer.alloc(0)), GET]))).to.equal('ip=127.0.0.1');
    expect(warns()).to.deep.equal([]);
  });

  it('gives WebSocket upgrades the header source too', async () => {
    const port = await start(['127.0.0.1']);
    const upgrade = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    await exchange(port, [v1('203.0.113.9'), upgrade]);
    expect(upgraded).to.deep.equal(['203.0.113.9']);
  });

  const hostile: [string, (string | Buffer)[], string][] = [
    ['no header', [GET], 'no PROXY header: the connection starts with "GET /who HTTP/1."'],
    ['a malformed v1 line', ['PROXY TCP4 203.0.113.7 nowhere 1 2\r\n', GET], 'destination address'],
    ['an oversized v1 line', ['PROXY UNKNOWN ' + 'x'.repeat(200)], 'longer than 107 bytes'],
    ['an oversized v2 header', [v2(1, 0x11, Buffer.alloc(12), Buffer.alloc(4000))], 'at most 528'],
    ['a UDP v2 header', [v2(1, 0x12, Buffer.alloc(12)), GET], 'datagram'],
    ['a header that stops half-way', ['PROXY TCP4 203.0.'], 'no complete header within 0.3 s (17 bytes)'],
    ['silence', [], 'no complete header within 0.3 s (0 bytes)'],
  ];
  for (const [what, chunks, reason] of hostile)
    it(`drops a trusted connection with ${what}, answering nothing, with a warn naming the key`, async () => {
      const port = await start(['127.0.0.0/8']);
      expect(await exchange(port, chunks)).to.equal('');
      expect(warns()).to.have.length(1);
      expect(warns()[0].message).to.contain(KEY);
      expect(warns()[0].fields).to.deep.equal({ address: '127.0.0.1', reason: warns()[0].fields.reason });
      expect(String(warns()[0].fields.reason)).to.contain(reason);
      // The listener is still up for the next, well-formed connection.
      expect(bodyOf(await exchange(port, [v1('203.0.113.7'), GET]))).to.equal('ip=203.0.113.7');
    });

  it('rate-limits the warnings of a flood of bad headers', async () => {
    const port = await start(['127.0.0.1']);
    await Promise.all(Array.from({ length: 30 }, () => exchange(port, ['PROXY BOGUS\r\n'])));
    expect(warns()).to.have.length(10);
  });

  it('reads no header from a peer outside the list: a header there is just bad HTTP', async () => {
    const port = await start(['192.0.2.0/24']);
    expect(bodyOf(await exchange(port, [GET]))).to.equal('ip=127.0.0.1');
    const answer = await exchange(port, [v1('203.0.113.7') + GET]);
    expect(answer).to.match(/^HTTP\/1.1 400 /);
    expect(answer).to.not.contain('ip=');
  });

  it('is off with an empty list: plain HTTP as before', async () => {
    const port = await start([]);
    expect(bodyOf(await exchange(port, [GET]))).to.equal('ip=127.0.0.1');
  });

  it('carries the header source through TLS (HTTPS)', async function () {
    if (!(await haveOpenssl('the HTTPS PROXY protocol test'))) return this.skip();
    const dir = await mkdtemp(join(tmpdir(), 'rport-pp-tls-'));
    try {
      const files = await selfSigned(dir);
      const port = await start(['127.0.0.1'], {
        cert: await readFile(files.cert),
        key: await readFile(files.key),
      });
      const body = await new Promise<string>((resolve, reject) => {
        const raw = connect(port, '127.0.0.1', () => {
          raw.cork(); // the header and the ClientHello leave in one segment, as a proxy may send them
          raw.write(v1('203.0.113.44'));
          const t = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => t.write(GET));
          process.nextTick(() => raw.uncork());
          let got = '';
          t.on('data', (d) => (got += d.toString()));
          t.on('error', reject);
          t.on('close', () => resolve(bodyOf(got)));
        });
      });
      expect(body).to.equal('ip=203.0.113.44');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** One SSH login through a socket that first sends header; 'ALLOWED' or why it failed. */
function sshLogin(port: number, header: string | Buffer, password: string): Promise<string> {
  return new Promise((resolve) => {
    const sock: Socket = connect(port, '127.0.0.1', () => {
      sock.write(header);
      const c = new ssh2.Client();
      let done = false;
      const finish = (why: string) => {
        if (done) return;
        done = true;
        c.end();
        sock.destroy();
        resolve(why);
      };
      c.once('ready', () => finish('ALLOWED'));
      c.on('error', (e) => finish(e.message));
      c.once('close', () => finish('connection closed by the server'));
      c.connect({ sock, username: 'agents', password, hostVerifier: () => true, readyTimeout: 10_000 });
    });
    sock.on('error', () => undefined);
  });
}

describe('PROXY protocol on the agents SSH listener (socket level)', function () {
  this.timeout(60_000);
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('bans the header source after wrong passwords, and only it', async () => {
    server = await startServer({
      settings: {
        proxyProtocolFrom: ['127.0.0.1'],
        auth: { ...DEFAULT_AUTH_GUARD, maxFailures: 1 },
      },
    });
    const bad = v1('203.0.113.7');
    expect(await sshLogin(server.port, bad, 'wrong')).to.not.equal('ALLOWED');
    expect(await sshLogin(server.port, bad, PASSWORD)).to.not.equal('ALLOWED');
    expect(await sshLogin(server.port, v2Tcp4('203.0.113.8', 1), PASSWORD)).to.equal('ALLOWED');
    const bans = server.logger.lines.filter((l) => l.level === 'warn' && /banned/.test(l.message));
    expect(bans.map((l) => l.fields.address)).to.include('203.0.113.7');
    expect(bans.map((l) => l.fields.address)).to.not.include('203.0.113.8');
    expect(JSON.stringify(server.logger.lines)).to.not.contain('"address":"127.0.0.1"');
  });

  it('counts the per-address handshake cap by header source, not by the proxy', async () => {
    server = await startServer({
      settings: { proxyProtocolFrom: ['127.0.0.1'], maxHandshakesPerAddress: 1 },
    });
    // A connection from .7 that stops after the identification holds .7's only place before login;
    // the server's own identification coming back shows it was admitted.
    const holder = connect(server.port, '127.0.0.1', () =>
      holder.write(v1('203.0.113.7') + 'SSH-2.0-holder\r\n'),
    );
    holder.on('error', () => undefined);
    await new Promise((r) => holder.once('data', r));
    expect(await sshLogin(server.port, v1('203.0.113.7'), PASSWORD)).to.not.equal('ALLOWED');
    expect(await sshLogin(server.port, v1('203.0.113.8'), PASSWORD)).to.equal('ALLOWED');
    holder.destroy();
  });

  it('drops a trusted connection without a header, naming [server] proxy_protocol_from', async () => {
    server = await startServer({ settings: { proxyProtocolFrom: ['127.0.0.1'] } });
    expect(await sshLogin(server.port, 'SSH-2.0-x\r\n', PASSWORD)).to.not.equal('ALLOWED');
    const warn = server.logger.lines.find((l) => l.level === 'warn' && l.message.includes('PROXY'));
    expect(warn?.message).to.contain('[server] proxy_protocol_from');
    expect(String(warn?.fields.reason)).to.contain('no PROXY header');
  });
});
