import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { connect, type TLSSocket } from 'node:tls';
import ssh2 from 'ssh2';
import { AGENT_FEATURES } from '../../../src/adapters/ssh/protocol.ts';
import { requestLine } from '../../../src/adapters/tls/fetch-offer.ts';
import { stagedName } from '../../../src/domain/push-request.ts';
import { eventually } from '../../e2e/helpers/eventually.ts';
import {
  PASSWORD,
  startAgent,
  startServer,
  tempDir,
  type TestAgent,
  type TestServer,
} from '../ssh/harness.ts';
import { tlsHolder } from './tls-peers.ts';

/** A raw TCP socket from `from` that writes bytes (or nothing); resolves once the server closed it. */
function closedAfter(port: number, from: string, bytes?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port, localAddress: from }, () => bytes && s.write(bytes));
    s.on('error', () => undefined);
    s.resume();
    s.once('close', () => resolve());
  });
}

/** A request line over TLS on the SSH port; resolves with all the server sent before it closed. */
function rawFetch(port: number, line: string, socket?: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(
      { ...(socket ? { socket } : { host: '127.0.0.1', port }), rejectUnauthorized: false },
      () => s.write(line),
    );
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

/** A TCP connection that starts with a PROXY v1 header naming `src`, ready for TLS or SSH on top. */
function proxied(port: number, src: string): Promise<Socket> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1', () => {
      s.write(`PROXY TCP4 ${src} 127.0.0.1 40000 2222\r\n`);
      resolve(s);
    });
    s.on('error', () => undefined);
  });
}

/** SSH login over a socket that already sent its PROXY header: 'ALLOWED' or why not. */
function sshLoginOver(sock: Socket): Promise<string> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    const finish = (why: string): void => {
      c.end();
      sock.destroy();
      resolve(why);
    };
    c.once('ready', () => finish('ALLOWED'));
    c.on('error', (e) => finish(e.message));
    c.connect({
      sock,
      username: 'agents',
      password: PASSWORD,
      hostVerifier: () => true,
      readyTimeout: 10_000,
    });
  });
}

describe('the TLS fetch on the SSH port: hostile peers', function () {
  this.timeout(40_000);
  let server: TestServer | undefined;
  const agents: TestAgent[] = [];
  const held: Socket[] = [];

  const warned = (message: string): Record<string, unknown>[] =>
    server!.logger.lines.filter((l) => l.level === 'warn' && l.message === message).map((l) => l.fields);

  afterEach(async () => {
    for (const s of held.splice(0)) s.destroy();
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server?.stop();
    if (server) await rm(server.dataDir, { recursive: true, force: true });
    server = undefined;
  });

  it('0x16 then garbage, silence, a flood from one address and a bad token are each dropped with a warn naming why; agents still get in', async () => {
    server = await startServer({
      fileTls: 'ssh-port',
      settings: { handshakeTimeoutMs: 1000, handshakeCapExempt: [], maxHandshakesPerAddress: 2 },
      fileTlsSettings: { handshakeTimeoutMs: 1000, capExempt: [], maxUnprovenPerAddress: 2 },
    });
    const port = server.port;
    // A TLS record header, then bytes no ClientHello holds.
    await closedAfter(
      port,
      '127.0.2.1',
      Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), randomBytes(64)]),
    );
    // The first byte of a TLS record, then nothing: the TLS listener's handshake deadline.
    await closedAfter(port, '127.0.2.2', Buffer.from([0x16]));
    // Nothing at all: it never takes a slot, and goes at the SSH listener's deadline.
    await closedAfter(port, '127.0.2.3');
    // Two silent sockets hold 127.0.2.5's places before login; the third is cut at accept.
    const silent = [netConnect({ host: '127.0.0.1', port, localAddress: '127.0.2.5' })];
    silent.push(netConnect({ host: '127.0.0.1', port, localAddress: '127.0.2.5' }));
    for (const s of silent) s.on('error', () => undefined);
    const gone = silent.map((s) => new Promise((r) => s.once('close', r)));
    await Promise.all(silent.map((s) => new Promise((r) => s.once('connect', r))));
    await closedAfter(port, '127.0.2.5');
    // Two finished handshakes that send no request hold 127.0.2.4's places; the third is cut.
    held.push(await tlsHolder(port, '127.0.2.4'), await tlsHolder(port, '127.0.2.4'));
    const third = await tlsHolder(port, '127.0.2.4').then(
      (s) => (s.destroy(), 'connected'),
      (e: Error) => e.message,
    );
    expect(third).to.not.equal('connected');
    // A well-formed request with a token nobody was given.
    const name = stagedName('0b7c1f3e-aaaa-4bbb-8ccc-000000000009');
    expect(await rawFetch(port, requestLine(randomBytes(32).toString('base64url'), name))).to.equal(
      'ERR an unknown, used or expired token\n',
    );

    // Meanwhile (the two holders still in): an agent logs in and its push goes over TLS.
    const dir = await tempDir('dest');
    try {
      agents.push(await startAgent(server, 'still-in', { features: AGENT_FEATURES, tls: true }));
      const [o] = await server.push(randomBytes(300_000), ['still-in'], `${dir}/f.bin`);
      expect(o.status, o.message).to.equal('success');
      expect(server.fileTls!.stats.sentBytes).to.be.at.least(300_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    const dropped = warned('file TLS connection dropped');
    const why = (address: string): string[] =>
      dropped.filter((f) => f.address === address).map((f) => String(f.why));
    expect(why('127.0.2.1')).to.have.length(1);
    expect(why('127.0.2.1')[0]).to.match(/^TLS handshake failed: /);
    expect(why('127.0.2.2')).to.deep.equal(['TLS handshake failed: TLS handshake timeout']);
    expect(why('127.0.2.4')).to.deep.equal(['more than 2 from this address before a request']);
    await Promise.all(gone); // the two silent ones, at their deadline
    const sshDrops = (address: string): string[] =>
      warned('SSH connection dropped before login')
        .filter((f) => f.address === address)
        .map((f) => String(f.reason));
    expect(sshDrops('127.0.2.3')).to.deep.equal(['no login within 1 s']);
    expect(sshDrops('127.0.2.5')).to.deep.equal([
      'more than 2 from this address before login',
      'no login within 1 s',
      'no login within 1 s',
    ]);
    expect(warned('file TLS fetch refused').map((f) => f.why)).to.deep.equal([
      'an unknown, used or expired token',
    ]);
  });

  it('a flood of bad handshakes writes at most ten warn lines a minute', async () => {
    server = await startServer({ fileTls: 'ssh-port' });
    const port = server.port;
    const garbage = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), randomBytes(64)]);
    await Promise.all(Array.from({ length: 25 }, () => closedAfter(port, '127.0.0.1', garbage)));
    // Each warn is written before its socket is closed, so by now all 25 drops have been counted.
    await eventually(
      async () => void expect(warned('file TLS connection dropped')).to.have.length.at.least(10),
    );
    expect(warned('file TLS connection dropped')).to.have.length(10);
    agents.push(await startAgent(server, 'after-flood', { features: AGENT_FEATURES, tls: true }));
  });

  it('behind a trusted proxy: SSH still logs in, and the TLS fetch counts the header source, not the proxy', async () => {
    server = await startServer({
      fileTls: 'ssh-port',
      settings: { proxyProtocolFrom: ['127.0.0.1'] },
      fileTlsSettings: { capExempt: [], maxUnprovenPerAddress: 1 },
    });
    const port = server.port;
    expect(await sshLoginOver(await proxied(port, '203.0.113.7'))).to.equal('ALLOWED');
    const secured = (socket: Socket): Promise<TLSSocket | string> =>
      new Promise((resolve) => {
        const s = connect({ socket, rejectUnauthorized: false });
        s.once('secureConnect', () => resolve(s));
        s.once('error', (e) => resolve(e.message));
        s.once('close', () => resolve('closed'));
      });
    const first = await secured(await proxied(port, '203.0.113.9'));
    expect(first).to.not.be.a('string');
    held.push(first as TLSSocket);
    // The same source again is over its cap of one; another source through the same proxy is not.
    expect(await secured(await proxied(port, '203.0.113.9'))).to.be.a('string');
    const other = await secured(await proxied(port, '203.0.113.10'));
    expect(other).to.not.be.a('string');
    held.push(other as TLSSocket);
    const dropped = warned('file TLS connection dropped');
    expect(dropped.map((f) => f.address)).to.deep.equal(['203.0.113.9']);
    expect(JSON.stringify(server.logger.lines)).to.not.contain('"address":"127.0.0.1"');
    // SSH from the proxy keeps working beside them.
    expect(await sshLoginOver(await proxied(port, '203.0.113.8'))).to.equal('ALLOWED');
  });
});
