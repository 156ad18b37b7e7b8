import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { WebSocketTransport } from '../../../src/adapters/ssh/agent/transport.ts';
import { DEFAULT_STAGED_CONTENTS_LIMITS } from '../../../src/adapters/ssh/server/staged-contents.ts';
import { startAgent, startServer, tempDir, type TestAgent, type TestServer } from './harness.ts';

/** A staged file whose push request claims another size (the md5 is the file's own). */
const mislabelled = (content: Buffer, size: number) => ({
  size,
  write: async (path: string): Promise<string> => {
    await writeFile(path, content);
    return createHash('md5').update(content).digest('hex');
  },
});

describe('SSH link: server and agents over real ssh2', function () {
  this.timeout(30_000);
  let server: TestServer;
  const agents: TestAgent[] = [];
  let destDir: string;

  beforeEach(async () => {
    server = await startServer();
    destDir = await tempDir('dest');
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
    await rm(destDir, { recursive: true, force: true });
  });

  it('pushes a file to two agents, each receiving the exact bytes, and removes the staged file', async () => {
    agents.push(await startAgent(server, 'alpha'), await startAgent(server, 'beta'));
    expect(server.presence.clients.get('alpha')?.connected).to.equal(true);
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const dest = join(destDir, 'sub', 'payload.bin');
    const outcomes = await server.push(content, ['alpha', 'beta'], dest);
    expect(outcomes.map((o) => [o.client_id, o.status]).sort()).to.deep.equal([
      ['alpha', 'success'],
      ['beta', 'success'],
    ]);
    // Both agents write the same destination here (same host); the bytes must be exact either way.
    expect((await readFile(dest)).equals(content)).to.equal(true);
    expect(await readdir(server.stagingDir)).to.deep.equal([]);
  });

  it('gives each agent its own destination and exact bytes, including an empty file', async () => {
    agents.push(await startAgent(server, 'one'), await startAgent(server, 'two'));
    const content = randomBytes(1000);
    const [a] = await server.push(content, ['one'], join(destDir, 'one.bin'));
    const [b] = await server.push(Buffer.alloc(0), ['two'], join(destDir, 'empty.bin'));
    expect(a.status, a.message).to.equal('success');
    expect(b.status, b.message).to.equal('success');
    expect((await readFile(join(destDir, 'one.bin'))).equals(content)).to.equal(true);
    expect((await readFile(join(destDir, 'empty.bin'))).length).to.equal(0);
  });

  it('a staged file above the in-memory size is read from disk READ by READ, and arrives exact', async () => {
    agents.push(await startAgent(server, 'big'));
    const content = randomBytes(DEFAULT_STAGED_CONTENTS_LIMITS.maxFileBytes + 3 * 32 * 1024 + 11);
    const [o] = await server.push(content, ['big'], join(destDir, 'big.bin'));
    expect(o.status, o.message).to.equal('success');
    expect((await readFile(join(destDir, 'big.bin'))).equals(content)).to.equal(true);
  });

  it('a staged file shorter than the push says: an error naming where it ended, nothing placed', async () => {
    agents.push(await startAgent(server, 'short'));
    const [o] = await server.push(
      mislabelled(randomBytes(1000), 5000),
      ['short'],
      join(destDir, 'short.bin'),
    );
    expect(o.status).to.equal('error');
    expect(o.message).to.match(/ended early at byte 1000 of 5000/);
    expect(await readdir(destDir)).to.deep.equal([]);
  });

  it('a staged file longer than the push says: only that many bytes are read, and the md5 check refuses them', async () => {
    agents.push(await startAgent(server, 'long'));
    const [o] = await server.push(mislabelled(randomBytes(1000), 600), ['long'], join(destDir, 'long.bin'));
    expect(o.status).to.equal('error');
    expect(o.message).to.match(/md5/i);
    expect(await readdir(destDir)).to.deep.equal([]);
  });

  it('runs several pushes to one agent at once', async () => {
    agents.push(await startAgent(server, 'busy'));
    const files = Array.from({ length: 4 }, () => randomBytes(700_000));
    const outcomes = await Promise.all(files.map((f, i) => server.push(f, ['busy'], join(destDir, `f${i}`))));
    expect(outcomes.flat().map((o) => o.status)).to.deep.equal(['success', 'success', 'success', 'success']);
    for (const [i, f] of files.entries())
      expect((await readFile(join(destDir, `f${i}`))).equals(f)).to.equal(true);
  });

  it('offline target: an immediate error outcome naming the client, and nothing staged left', async () => {
    const [o] = await server.push(Buffer.from('x'), ['ghost'], join(destDir, 'ghost.txt'));
    expect(o.status).to.equal('error');
    expect(o.message).to.equal('client ghost is not connected');
    expect(await readdir(server.stagingDir)).to.deep.equal([]);
  });

  it('host key mismatch: the agent refuses, with a message naming both fingerprints', async () => {
    const pinned = 'SHA256:' + 'A'.repeat(43);
    const agent = await startAgent(server, 'wary', { fingerprint: pinned, wait: false, backoffMs: 5000 });
    agents.push(agent);
    await new Promise<void>((resolve) => agent.connection.once('failure', () => resolve()));
    const message = agent.failures[0].message;
    expect(message).to.include(server.fingerprint);
    expect(message).to.include(pinned);
    expect(message).to.match(/host key mismatch/);
    expect(agent.connection.connected).to.equal(false);
    expect(server.presence.clients.has('wary')).to.equal(false);
  });

  it('the host key is kept in data_dir: a restarted server has the same fingerprint', async () => {
    const first = server.fingerprint;
    expect(first).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    expect(server.fingerprint).to.equal(first);
  });

  it('server restart: agents reconnect by themselves and the next push reaches them', async () => {
    agents.push(await startAgent(server, 'phoenix'));
    const port = server.port;
    const dataDir = server.dataDir;
    const gone = server.presence.waitFor('disconnected', 'phoenix');
    const agentSawIt = new Promise((resolve) => agents[0].connection.once('disconnected', resolve));
    await server.stop();
    await Promise.all([gone, agentSawIt]);
    expect(server.presence.clients.get('phoenix')?.connected).to.equal(false);
    server = await startServer({ dataDir, port });
    await agents[0].connection.waitConnected();
    expect(server.presence.clients.get('phoenix')?.connected).to.equal(true);
    const content = randomBytes(50_000);
    const [o] = await server.push(content, ['phoenix'], join(destDir, 'after-restart'));
    expect(o.status, o.message).to.equal('success');
    expect((await readFile(join(destDir, 'after-restart'))).equals(content)).to.equal(true);
  });

  describe('over the WebSocket transport', () => {
    let http: Server;
    let wss: WebSocketServer;

    beforeEach(async () => {
      wss = new WebSocketServer({ noServer: true });
      http = createServer((_req, res) => res.writeHead(404).end());
      http.on('upgrade', (req, socket, head) => {
        if (req.url !== '/agents') return socket.destroy();
        wss.handleUpgrade(req, socket, head, (ws) =>
          server.acceptWebSocket(ws, req.socket.remoteAddress ?? 'unknown'),
        );
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    });

    afterEach(async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise((resolve) => http.close(resolve));
    });

    it('pushes the exact bytes through SSH tunnelled in a WebSocket', async () => {
      const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/agents`;
      agents.push(await startAgent(server, 'tunnelled', { transport: new WebSocketTransport(url) }));
      const content = randomBytes(2 * 1024 * 1024 + 5);
      const [o] = await server.push(content, ['tunnelled'], join(destDir, 'ws.bin'));
      expect(o.status, o.message).to.equal('success');
      expect((await readFile(join(destDir, 'ws.bin'))).equals(content)).to.equal(true);
    });

    it('bad WebSocket path: the agent reports the HTTP status and keeps retrying', async () => {
      const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/wrong`;
      const agent = await startAgent(server, 'lost', {
        transport: new WebSocketTransport(url),
        wait: false,
        backoffMs: 5000,
      });
      agents.push(agent);
      await new Promise<void>((resolve) => agent.connection.once('failure', () => resolve()));
      expect(agent.failures[0].message).to.include('/wrong');
    });
  });
});
