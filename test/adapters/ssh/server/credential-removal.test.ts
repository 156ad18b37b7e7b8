import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import type { Client } from 'ssh2';
import type { ClientCredentials } from '../../../../src/ports/client-credentials.ts';
import { connectRaw, startServer, type TestServer } from '../harness.ts';

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

/** A login that got in, closed again (so that no connection stays logged in with the credential): 'ALLOWED'. */
async function ended(client: Client): Promise<string> {
  const closed = new Promise<void>((r) => client.once('close', () => r()));
  client.end();
  await closed;
  return 'ALLOWED';
}

describe('SSH listener: a credential removed while a login with it is being checked', function () {
  this.timeout(30_000);
  let server: TestServer;
  const credentials = new HeldCredentials();
  before(
    async () =>
      (server = await startServer({
        credentials,
        settings: { auth: { maxFailures: 100, banMs: 60_000, failureDelayMs: 10 } },
      })),
  );
  after(async () => {
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
  });

  it('without a removal, the held check lets the login in (the control)', async () => {
    credentials.reset();
    const attempt = connectRaw(server.port).then(ended, (e: Error) => e.message);
    await credentials.checking;
    credentials.letGo();
    expect(await attempt).to.equal('ALLOWED');
  });

  it('removed during the check: the login is refused although the check said yes', async () => {
    credentials.reset();
    const attempt = connectRaw(server.port).then(ended, (e: Error) => e.message);
    await credentials.checking;
    server.endSessionsOf('agents');
    credentials.letGo();
    expect(await attempt).to.not.equal('ALLOWED');
  });
});
