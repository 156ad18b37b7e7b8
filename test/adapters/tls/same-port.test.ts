import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import {
  connect as netConnect,
  createServer as createNetServer,
  type AddressInfo,
  type Socket,
} from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { TcpTransport, WebSocketTransport } from '../../../src/adapters/ssh/agent/transport.ts';
import { parseFetchOffer, portOfServer } from '../../../src/adapters/tls/fetch-offer.ts';
import { AGENT_FEATURES } from '../../../src/adapters/ssh/protocol.ts';
import { tlsHolder } from './tls-peers.ts';
import { startAgent, startServer, tempDir, type TestAgent, type TestServer } from '../ssh/harness.ts';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('the TLS fetch on the SSH port ([server] file_tls, told apart by the first byte)', function () {
  this.timeout(30_000);
  let server: TestServer | undefined;
  const agents: TestAgent[] = [];
  let destDir: string;
  const content = randomBytes(5 * 1024 * 1024 + 77);

  const tlsStarts = (): unknown[] =>
    server!.logger.lines.filter((l) => l.message === 'file TLS fetch started').map((l) => l.fields.client_id);

  beforeEach(async () => (destDir = await tempDir('dest')));

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server?.stop();
    if (server) await rm(server.dataDir, { recursive: true, force: true });
    server = undefined;
    await rm(destDir, { recursive: true, force: true });
  });

  it('an agent announcing tls-fetch fetches over TLS on the port it reached: md5 right, bytes through the TLS listener', async () => {
    server = await startServer({ fileTls: 'ssh-port' });
    const agent = await startAgent(server, 'tls-agent', { features: AGENT_FEATURES, tls: true });
    agents.push(agent);
    const dest = join(destDir, 'pkg.bin');
    const [o] = await server.push(content, ['tls-agent'], dest);
    expect(o.status, o.message).to.equal('success');
    expect(md5(await readFile(dest))).to.equal(md5(content));
    expect(tlsStarts()).to.deep.equal(['tls-agent']);
    // Every byte of the file went through the TLS listener (SFTP would have left it at 0).
    expect(server.fileTls!.stats.sentBytes).to.be.at.least(content.length);
    expect(server.fileTls!.stats.tokens).to.equal(0);
    expect(agent.logger.lines.map((l) => l.message)).to.not.include(
      'TLS fetch failed; fetching by SFTP instead',
    );
  });

  it('a push under [server] file_tls_min_size goes by SFTP, one of exactly that size over TLS', async () => {
    const min = 1024 * 1024;
    server = await startServer({ fileTls: 'ssh-port', fileTlsMinSize: min });
    agents.push(await startAgent(server, 'sized', { features: AGENT_FEATURES, tls: true }));
    const small = randomBytes(min - 1);
    const [a] = await server.push(small, ['sized'], join(destDir, 'small.bin'));
    expect(a.status, a.message).to.equal('success');
    expect(md5(await readFile(join(destDir, 'small.bin')))).to.equal(md5(small));
    expect(tlsStarts()).to.deep.equal([]);
    expect(server.fileTls!.stats.sentBytes).to.equal(0);
    const exact = randomBytes(min);
    const [b] = await server.push(exact, ['sized'], join(destDir, 'exact.bin'));
    expect(b.status, b.message).to.equal('success');
    expect(md5(await readFile(join(destDir, 'exact.bin')))).to.equal(md5(exact));
    expect(tlsStarts()).to.deep.equal(['sized']);
    expect(server.fileTls!.stats.sentBytes).to.be.at.least(min);
  });

  it("an agent behind a port forward fetches through the port it reached, not rportd's own", async () => {
    server = await startServer({ fileTls: 'ssh-port' });
    const s = server;
    // A plain TCP forward on another port, counting its connections and the bytes it carried back.
    let connections = 0;
    let carried = 0;
    const pipes = new Set<Socket>();
    const forward = createNetServer((agentSide) => {
      connections += 1;
      const serverSide = netConnect(s.port, '127.0.0.1');
      for (const x of [agentSide, serverSide]) {
        pipes.add(x);
        x.on('error', () => undefined);
        x.on('close', () => (agentSide.destroy(), serverSide.destroy()));
      }
      serverSide.on('data', (c: Buffer) => (carried += c.length));
      agentSide.pipe(serverSide).pipe(agentSide);
    });
    await new Promise<void>((resolve) => forward.listen(0, '127.0.0.1', resolve));
    try {
      const port = (forward.address() as AddressInfo).port;
      const agent = await startAgent(s, 'forwarded', {
        transport: new TcpTransport('127.0.0.1', port),
        features: AGENT_FEATURES,
        tls: true,
      });
      agents.push(agent);
      const dest = join(destDir, 'fwd.bin');
      const [o] = await s.push(content, ['forwarded'], dest);
      expect(o.status, o.message).to.equal('success');
      expect(md5(await readFile(dest))).to.equal(md5(content));
      expect(tlsStarts()).to.deep.equal(['forwarded']);
      // The SSH connection and the TLS fetch both came through the forward.
      expect(connections).to.equal(2);
      expect(carried).to.be.at.least(content.length);
    } finally {
      for (const x of pipes) x.destroy();
      await new Promise((r) => forward.close(r));
    }
  });

  it('offers on the SSH port say same_port; the agent reads its own server entry for the port', () => {
    const offer = { port: 2222, fingerprint: `SHA256:${'A'.repeat(43)}`, token: 'B'.repeat(43) };
    expect(parseFetchOffer({ ...offer, same_port: true })).to.deep.equal({ ...offer, same_port: true });
    expect(parseFetchOffer({ ...offer, same_port: false })).to.deep.equal(offer);
    expect(parseFetchOffer({ ...offer, same_port: 'yes' })).to.equal(undefined);
    expect(portOfServer('rport.example.com:443')).to.equal(443);
    expect(portOfServer('[::1]:8022')).to.equal(8022);
    expect(portOfServer('ws://rport.example.com:3000/api/v1/ws/agents')).to.equal(undefined);
  });

  it('a TLS peer frees its handshake slot at once: with the only slot taken by it, an agent logs in', async () => {
    // A request deadline past the test's own: nothing but the slot's release lets the agent in.
    server = await startServer({
      fileTls: 'ssh-port',
      settings: { maxHandshakes: 1 },
      fileTlsSettings: { requestTimeoutMs: 60_000 },
    });
    const holder = await tlsHolder(server.port);
    try {
      agents.push(await startAgent(server, 'after-tls', { features: AGENT_FEATURES, tls: true }));
      expect(holder.destroyed, 'the TLS peer is still in its request phase').to.equal(false);
      expect(server.fileTls!.stats.connections).to.equal(1);
      // Stopping rportd drops it too (the SSH port's server waits for every connection it accepted).
      const closed = new Promise((r) => holder.once('close', r));
      await server.stop();
      await closed;
    } finally {
      holder.destroy();
    }
  });

  it('a WebSocket agent is not offered the same-port fetch and fetches by SFTP', async () => {
    server = await startServer({ fileTls: 'ssh-port' });
    const s = server;
    const wss = new WebSocketServer({ noServer: true });
    const http: Server = createServer((_req, res) => res.writeHead(404).end());
    http.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) =>
        s.acceptWebSocket(ws, req.socket.remoteAddress ?? 'unknown'),
      ),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/agents`;
      agents.push(
        await startAgent(s, 'ws-agent', {
          transport: new WebSocketTransport(url),
          features: AGENT_FEATURES,
          tls: true,
        }),
      );
      const dest = join(destDir, 'ws.bin');
      const [o] = await s.push(content, ['ws-agent'], dest);
      expect(o.status, o.message).to.equal('success');
      expect(md5(await readFile(dest))).to.equal(md5(content));
      expect(tlsStarts()).to.deep.equal([]);
      expect(s.fileTls!.stats.sentBytes).to.equal(0);
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise((r) => http.close(r));
    }
  });

  it('file_tls = false: no offers, every push by SFTP, and a ClientHello on the SSH port goes to ssh2, which refuses it', async () => {
    server = await startServer();
    expect(server.fileTls).to.equal(undefined);
    agents.push(await startAgent(server, 'sftp-agent', { features: AGENT_FEATURES, tls: true }));
    const dest = join(destDir, 'pkg.bin');
    const [o] = await server.push(content, ['sftp-agent'], dest);
    expect(o.status, o.message).to.equal('success');
    expect(md5(await readFile(dest))).to.equal(md5(content));
    expect(tlsStarts()).to.deep.equal([]);
    // ssh2 answers with its own identification: not TLS, so the client's handshake fails.
    const err = await tlsHolder(server.port).then(
      (s) => (s.destroy(), 'connected'),
      (e: Error) => e.message,
    );
    expect(err).to.not.equal('connected');
    expect(err).to.match(/wrong version number|packet length too long|ECONNRESET|socket disconnected/i);
  });
});
