import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { ClientCredentials } from '../../../src/ports/client-registry.ts';
import { PASSWORD, startServer, type TestServer } from './harness.ts';

/** A credential store whose password check waits until released, and then says yes: a slow scrypt that saw the credential still there. */
class HeldCredentials implements ClientCredentials {
  checking!: Promise<void>;
  private began!: () => void;
  private release!: () => void;
  private held!: Promise<void>;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.checking = new Promise((r) => (this.began = r));
    this.held = new Promise((r) => (this.release = r));
  }
  async verify(): Promise<boolean> {
    this.began();
    await this.held;
    return true;
  }
  letGo(): void {
    this.release();
  }
}

function login(port: number): Promise<{ result: string; client: ssh2.Client }> {
  const client = new ssh2.Client();
  return new Promise((resolve) => {
    client.once('ready', () => resolve({ result: 'ALLOWED', client }));
    client.once('error', (e) => resolve({ result: e.message, client }));
    client.connect({ host: '127.0.0.1', port, username: 'agents', password: PASSWORD, hostVerifier: () => true, readyTimeout: 10_000 });
  });
}

describe('SSH listener: a credential removed while a login with it is being checked', function () {
  this.timeout(30_000);
  let server: TestServer;
  const credentials = new HeldCredentials();
  before(async () => (server = await startServer({ credentials, settings: { auth: { maxFailures: 100, banMs: 60_000, failureDelayMs: 10 } } })));
  after(async () => {
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
  });

  it('without a removal, the held check lets the login in (the control)', async () => {
    credentials.reset();
    const attempt = login(server.port);
    await credentials.checking;
    credentials.letGo();
    const { result, client } = await attempt;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.end();
    await closed;
    expect(result).to.equal('ALLOWED');
  });

  it('removed during the check: the login is refused although the check said yes', async () => {
    credentials.reset();
    const attempt = login(server.port);
    await credentials.checking;
    server.endSessionsOf('agents');
    credentials.letGo();
    const { result, client } = await attempt;
    client.end();
    expect(result).to.not.equal('ALLOWED');
  });
});
