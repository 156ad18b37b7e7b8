import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { TcpTransport } from '../../../src/adapters/ssh/agent/transport.ts';
import { MAX_READ } from '../../../src/adapters/ssh/protocol.ts';
import { SftpFileSource } from '../../../src/adapters/ssh/agent/sftp-file-source.ts';
import { ServerConnection } from '../../../src/adapters/ssh/agent/server-connection.ts';
import { SSH_ALGORITHMS } from '../../../src/adapters/ssh/ssh-algorithms.ts';
import { messageOf } from '../../../src/domain/errors.ts';
import type { PushRequest } from '../../../src/domain/push-request.ts';
import { quietLogger, testIdentity } from './fakes.ts';
import { PASSWORD, startAgent, startServer, tempDir, type TestAgent, type TestServer } from './harness.ts';

/** A TCP relay in front of the listener that can go silent, as a dead host or a cut cable would. */
class FreezableProxy {
  private readonly server: Server;
  private readonly pairs: [Socket, Socket][] = [];
  port = 0;

  constructor(private readonly target: number) {
    this.server = createServer((inbound) => {
      const outbound = connect(this.target, '127.0.0.1');
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
      this.pairs.push([inbound, outbound]);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Stops forwarding in both directions without closing anything: no FIN, no RST, just silence. */
  freeze(): void {
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) for (const s of pair) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Raw TCP that never speaks SSH. */
function silentSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    s.resume(); // reads the server's ident away, so that its close is seen
  });
}
const closed = (s: Socket | ssh2.Client): Promise<void> =>
  new Promise((resolve) => ((s as Socket).destroyed ? resolve() : s.once('close', () => resolve())));

describe('SSH link: liveness (keepalives, handshake timeout and cap, abandoned pushes)', function () {
  this.timeout(20_000);
  let server: TestServer | undefined;
  let proxy: FreezableProxy | undefined;
  const agents: TestAgent[] = [];
  const connections: ServerConnection[] = [];
  const sockets: Socket[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await Promise.all(connections.splice(0).map((c) => c.stop()));
    await proxy?.close();
    proxy = undefined;
    await server?.stop();
    if (server) dirs.push(server.dataDir);
    server = undefined;
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('keepalives: an agent gone silent is marked disconnected, and a push to it gets an error outcome instead of hanging', async () => {
    server = await startServer({ settings: { keepaliveIntervalMs: 200, keepaliveCountMax: 2 } });
    proxy = await new FreezableProxy(server.port).listen();
    const agent = await startAgent(server, 'silent', {
      transport: new TcpTransport('127.0.0.1', proxy.port),
    });
    agents.push(agent);
    dirs.push(await tempDir('dest'));
    expect(server.presence.clients.get('silent')?.connected).to.equal(true);
    const gone = server.presence.waitFor('disconnected', 'silent');
    proxy.freeze();
    // Started while the link is dead but not yet declared so: the keepalive must settle it.
    const [during] = await server.push(randomBytes(1024), ['silent'], join(dirs[0], 'during.bin'));
    await gone;
    expect(server.presence.clients.get('silent')?.connected).to.equal(false);
    expect(during.status).to.equal('error');
    expect(during.message).to.match(/silent/);
    const [after] = await server.push(randomBytes(1024), ['silent'], join(dirs[0], 'after.bin'));
    expect(after.status).to.equal('error');
    expect(after.message).to.match(/client silent is not connected/);
    expect(await readdir(server.stagingDir)).to.deep.equal([]);
  });

  it('handshake timeout: a TCP connection that never speaks SSH is dropped, and agents still get in', async () => {
    server = await startServer({ settings: { handshakeTimeoutMs: 300 } });
    const mute = await silentSocket(server.port);
    sockets.push(mute);
    await closed(mute);
    const agent = await startAgent(server, 'after-mute', { backoffMs: 60_000 });
    agents.push(agent);
    expect(agent.failures).to.deep.equal([]);
  });

  it('handshake timeout: a peer that logs in but never sends hello is dropped', async () => {
    server = await startServer({ settings: { handshakeTimeoutMs: 300 } });
    const client = new ssh2.Client();
    const ready = new Promise<void>(
      (resolve, reject) => (client.once('ready', resolve), client.once('error', reject)),
    );
    client.on('error', () => undefined);
    client.connect({
      host: '127.0.0.1',
      port: server.port,
      username: 'agents',
      password: PASSWORD,
      algorithms: SSH_ALGORITHMS,
      hostVerifier: () => true,
    });
    await ready;
    await closed(client);
    expect(server.presence.clients.size).to.equal(0);
  });

  it('concurrent-handshake cap: connections beyond it are dropped at accept, and an agent refused again and again keeps retrying and gets in', async () => {
    server = await startServer({
      settings: { maxHandshakes: 1, maxQueuedHandshakes: 0, handshakeTimeoutMs: 10_000 },
    });
    const hog = await silentSocket(server.port); // holds the only handshake slot
    sockets.push(hog);
    const agent = await startAgent(server, 'persistent', { backoffMs: 20, wait: false });
    agents.push(agent);
    while (agent.failures.length < 4) await new Promise((r) => setTimeout(r, 20));
    expect(agent.connection.connected).to.equal(false);
    hog.destroy(); // the slot frees; the next retry must get in
    await agent.connection.waitConnected();
    expect(server.presence.clients.get('persistent')?.connected).to.equal(true);
    expect(agent.failures.length).to.be.at.least(4);
  });

  it('push timeout: a slow agent gets an error outcome, is told to cancel, and stops fetching', async () => {
    server = await startServer();
    const fetched: { chunks: number; ended?: string } = { chunks: 0 };
    const live: { source?: SftpFileSource } = {};
    const connection = new ServerConnection({
      transport: new TcpTransport('127.0.0.1', server.port),
      fingerprint: server.fingerprint,
      credentialId: 'agents',
      password: PASSWORD,
      hello: {
        id: 'slow',
        name: 'slow',
        hostname: 'slow',
        os: 'linux',
        tags: [],
        version: '0.1.0',
        file_reception: { enabled: true, protected: [] },
      },
      identity: testIdentity(),
      handler: {
        // Reads the staged file one slice every 100 ms: far slower than the server's patience.
        async handle(request: PushRequest) {
          try {
            for await (const chunk of live.source!.open(request)) {
              fetched.chunks += chunk.byteLength > 0 ? 1 : 0;
              await new Promise((r) => setTimeout(r, 100));
            }
            fetched.ended = 'completed';
          } catch (e) {
            fetched.ended = messageOf(e);
          }
          return { status: 'error', message: 'slow agent gave up' };
        },
        cancel: (request: PushRequest) => live.source?.cancel(request.sourceName),
      },
      logger: quietLogger(),
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    live.source = new SftpFileSource(connection, 1);
    connections.push(connection);
    const up = connection.waitConnected();
    connection.start();
    await up;
    dirs.push(await tempDir('dest'));
    const [o] = await server.push(randomBytes(64 * 1024 * 1024), ['slow'], join(dirs[0], 'slow.bin'), 1000);
    expect(o.status).to.equal('error');
    expect(o.message).to.match(/client slow did not answer within 1 s/);
    expect(await readdir(server.stagingDir)).to.deep.equal([]);
    while (fetched.ended === undefined) await new Promise((r) => setTimeout(r, 20));
    expect(fetched.ended).to.match(/cancelled/);
    const atCancel = fetched.chunks;
    await new Promise((r) => setTimeout(r, 300));
    expect(fetched.chunks, 'no slice is fetched after the cancel').to.equal(atCancel);
    expect(atCancel, 'the whole file was never fetched').to.be.below((64 * 1024 * 1024) / MAX_READ);
    expect(connection.connected, 'the connection itself stays up').to.equal(true);
  });
});
