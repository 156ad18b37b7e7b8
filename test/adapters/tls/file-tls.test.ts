import { expect } from 'chai';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { InMemoryFileSource } from '../../../src/adapters/memory/in-memory-file-source.ts';
import { PushGrants } from '../../../src/adapters/ssh/server/push-grants.ts';
import { TransferSlots } from '../../../src/adapters/ssh/server/transfer-slots.ts';
import {
  certificateFingerprint,
  loadOrCreateFileTlsCertificate,
  selfSignedCertificate,
} from '../../../src/adapters/tls/file-tls-certificate.ts';
import { FileTlsListener } from '../../../src/adapters/tls/file-tls-listener.ts';
import { requestLine, type FetchOffer } from '../../../src/adapters/tls/fetch-offer.ts';
import { FetchOffers, TlsFileSource } from '../../../src/adapters/tls/tls-file-source.ts';
import { stagedName, type PushRequest } from '../../../src/domain/push-request.ts';
import { quietLogger } from '../ssh/fakes.ts';
import { eventually } from '../../e2e/helpers/eventually.ts';

const MiB = 1024 * 1024;

/** Sends a raw request line over TLS (no pinning) and resolves with everything the server sent until it closed. */
function rawFetch(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => s.write(line));
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

describe('file fetch over TLS (FileTlsListener and TlsFileSource on loopback)', function () {
  this.timeout(30_000);
  let dir: string;
  let staging: string;
  let listener: FileTlsListener;
  let grants: PushGrants;
  let slots: TransferSlots;
  let port: number;
  let live: boolean;
  let logger: ReturnType<typeof quietLogger>;
  let content: Buffer;
  let request: PushRequest;

  const offerFor = (name = request.sourceName): FetchOffer =>
    listener.offer({ clientId: 'web-1', name, grants, isLive: () => live });

  /** An agent's TLS source whose SFTP fallback is an in-memory source that says "fallback" (so a fallback shows). */
  const agentSource = (): {
    source: TlsFileSource;
    offers: FetchOffers;
    agentLog: ReturnType<typeof quietLogger>;
  } => {
    const offers = new FetchOffers();
    const agentLog = quietLogger();
    const memory = new InMemoryFileSource({ read: () => Buffer.from('fallback') });
    const source = new TlsFileSource({
      offers,
      fallback: { open: (r) => memory.open(r), cancel: () => undefined },
      logger: agentLog,
    });
    return { source, offers, agentLog };
  };

  const drain = async (it: AsyncIterable<Uint8Array>): Promise<{ bytes: Buffer; chunks: number }> => {
    const parts: Buffer[] = [];
    for await (const c of it) parts.push(Buffer.from(c)); // lent chunks: copied to keep
    return { bytes: Buffer.concat(parts), chunks: parts.length };
  };

  const refusals = (): string[] =>
    logger.lines.filter((l) => l.message === 'file TLS fetch refused').map((l) => String(l.fields.why));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rport-tls-'));
    staging = join(dir, 'filepush');
    await mkdir(staging);
    content = randomBytes(3 * MiB + 12345);
    const name = stagedName('0b7c1f3e-aaaa-4bbb-8ccc-000000000001');
    await writeFile(join(staging, name), content);
    request = {
      uuid: '0b7c1f3e-aaaa-4bbb-8ccc-000000000001',
      sourceName: name,
      destination: '/tmp/x',
      size: content.length,
      md5: createHash('md5').update(content).digest('hex'),
      force: true,
      sync: false,
      ownership: {},
    };
    live = true;
    logger = quietLogger();
    slots = new TransferSlots(4);
    grants = new PushGrants({ stagingDir: staging, slots });
    listener = new FileTlsListener(await loadOrCreateFileTlsCertificate(dir), logger, {
      requestTimeoutMs: 500,
    });
    port = await listener.listen(0, '127.0.0.1');
  });

  afterEach(async () => {
    grants.closeAll();
    await listener.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes certificates OpenSSL parses every time (a random serial is minimal DER, never zero-padded)', () => {
    // A serial whose first byte came out 0 was refused as "illegal padding" about once in 128 starts.
    for (let i = 0; i < 2000; i++) {
      const { cert } = selfSignedCertificate();
      expect(() => new X509Certificate(cert), `certificate ${i}`).not.to.throw();
    }
  });

  it('keeps its certificate in data_dir: the second start loads the same one, key file 0600', async () => {
    const again = await loadOrCreateFileTlsCertificate(dir);
    expect(again.fingerprint).to.equal(listener.fingerprint);
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(dir, 'file_tls_key.pem'))).mode & 0o777).to.equal(0o600);
    const x = new X509Certificate(again.cert);
    expect(certificateFingerprint(x.raw)).to.equal(again.fingerprint);
  });

  it('streams the granted file with its md5 over TLS 1.3, then lets go of its slot, file and token', async () => {
    const { source, offers } = agentSource();
    offers.set(request.sourceName, { ...offerFor(), host: '127.0.0.1' });
    expect(listener.stats.tokens).to.equal(1);
    const { bytes, chunks } = await drain(source.open(request));
    expect(createHash('md5').update(bytes).digest('hex')).to.equal(request.md5);
    expect(chunks).to.be.greaterThan(1);
    expect(listener.stats.tokens).to.equal(0);
    await eventually(async () => {
      expect(grants.held).to.equal(0);
      expect(slots.inUse).to.equal(0);
      expect(listener.stats.buffersInUse).to.equal(0);
    });
    expect(refusals()).to.deep.equal([]);
  });

  it('refuses a certificate other than the pinned one before sending the token, and falls back to SFTP', async () => {
    const { source, offers, agentLog } = agentSource();
    const offer = offerFor();
    const other = certificateFingerprint(new X509Certificate(selfSignedCertificate().cert).raw);
    offers.set(request.sourceName, { ...offer, fingerprint: other, host: '127.0.0.1' });
    const { bytes } = await drain(source.open(request));
    expect(bytes.toString()).to.equal('fallback');
    const warn = agentLog.lines.find((l) => l.message === 'TLS fetch failed; fetching by SFTP instead');
    expect(String(warn?.fields.err)).to.contain(`not the pinned ${other}`);
    expect(warn?.fields).to.not.have.property('tls_passed_over_for_s'); // it answered: tried again next time
    // The token never left: it still works once.
    expect(listener.stats.tokens).to.equal(1);
    const answer = await rawFetch(port, requestLine(offer.token, request.sourceName));
    expect(answer.startsWith(`OK ${content.length}\n`)).to.equal(true);
    expect(answer.length).to.equal(`OK ${content.length}\n`.length + content.length);
  });

  it('refuses a wrong token, a replayed one, one for another file and a late one, and logs each', async () => {
    const wrong = await rawFetch(
      port,
      requestLine(randomBytes(32).toString('base64url'), request.sourceName),
    );
    expect(wrong).to.equal('ERR an unknown, used or expired token\n');

    const used = offerFor();
    expect((await rawFetch(port, requestLine(used.token, request.sourceName))).startsWith('OK ')).to.equal(
      true,
    );
    expect(await rawFetch(port, requestLine(used.token, request.sourceName))).to.equal(
      'ERR an unknown, used or expired token\n',
    );

    const elsewhere = offerFor();
    const otherName = stagedName('0b7c1f3e-aaaa-4bbb-8ccc-000000000002');
    expect(await rawFetch(port, requestLine(elsewhere.token, otherName))).to.equal(
      `ERR the token is not for ${otherName}\n`,
    );
    // Spent by that attempt, even for its own file.
    expect(await rawFetch(port, requestLine(elsewhere.token, request.sourceName))).to.match(
      /^ERR an unknown/,
    );

    const late = offerFor();
    listener.revoke('web-1', request.sourceName); // the push was settled
    expect(await rawFetch(port, requestLine(late.token, request.sourceName))).to.match(/^ERR an unknown/);

    const notLive = offerFor();
    live = false;
    expect(await rawFetch(port, requestLine(notLive.token, request.sourceName))).to.equal(
      'ERR the push is no longer live\n',
    );
    expect(refusals()).to.deep.equal([
      'an unknown, used or expired token',
      'an unknown, used or expired token',
      `the token is not for ${otherName}`,
      'an unknown, used or expired token',
      'an unknown, used or expired token',
      'the push is no longer live',
    ]);
  });

  it('a wrong token on the agent side falls back to SFTP and says why in its log', async () => {
    const { source, offers, agentLog } = agentSource();
    offers.set(request.sourceName, {
      ...offerFor(),
      token: randomBytes(32).toString('base64url'),
      host: '127.0.0.1',
    });
    expect((await drain(source.open(request))).bytes.toString()).to.equal('fallback');
    const warn = agentLog.lines.find((l) => l.message === 'TLS fetch failed; fetching by SFTP instead');
    expect(String(warn?.fields.err)).to.contain(
      'the server refused the fetch: an unknown, used or expired token',
    );
  });

  it('drops a slow request at its deadline and an over-long one at once, spending nothing', async () => {
    const token = offerFor().token;
    const slow = await rawFetch(port, `RPORT-FETCH/1 ${token}`); // no newline, ever
    expect(slow).to.equal('ERR no request within 0.5 s\n');
    const long = await rawFetch(port, 'X'.repeat(300));
    expect(long).to.equal('ERR a request line longer than 256 bytes\n');
    expect(listener.stats.tokens).to.equal(1);
    expect(grants.held).to.equal(0);
  });

  it('caps the connections one address holds before a request is accepted; loopback is exempt by default', async () => {
    const capped = new FileTlsListener(await loadOrCreateFileTlsCertificate(dir), logger, {
      maxUnprovenPerAddress: 2,
      capExempt: [],
    });
    const cappedPort = await capped.listen(0, '127.0.0.1');
    const silent: TLSSocket[] = [];
    try {
      // Two connections that finish the handshake and then say nothing hold the address's two places.
      for (let i = 0; i < 2; i++) {
        const s = connect({ host: '127.0.0.1', port: cappedPort, rejectUnauthorized: false });
        s.on('error', () => undefined);
        await new Promise((r) => s.once('secureConnect', r));
        silent.push(s);
      }
      // The third is cut before its handshake: no secureConnect, only a close.
      const third = connect({ host: '127.0.0.1', port: cappedPort, rejectUnauthorized: false });
      let secured = false;
      third.once('secureConnect', () => (secured = true));
      third.on('error', () => undefined);
      await new Promise((r) => third.once('close', r));
      expect(secured).to.equal(false);
      // With one place freed, a fetch gets in.
      silent.pop()!.destroy();
      await eventually(async () => void expect(capped.stats.connections).to.equal(1));
      const offer = capped.offer({ clientId: 'web-1', name: request.sourceName, grants, isLive: () => live });
      const answer = await rawFetch(cappedPort, requestLine(offer.token, request.sourceName));
      expect(answer.startsWith(`OK ${content.length}\n`)).to.equal(true);
    } finally {
      for (const s of silent) s.destroy();
      await capped.close();
    }
    // The default listener exempts loopback: ten silent connections from 127.0.0.1 all finish their handshake.
    const many = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
        s.on('error', () => undefined);
        await new Promise((r) => s.once('secureConnect', r));
        return s;
      }),
    );
    await eventually(async () => void expect(listener.stats.connections).to.equal(10));
    for (const s of many) s.destroy();
  });

  it('a client that never reads holds a few buffers, not the file; settling the push cuts it', async () => {
    const big = randomBytes(64 * MiB);
    await writeFile(join(staging, request.sourceName), big);
    const token = offerFor().token;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () =>
      socket.write(requestLine(token, request.sourceName)),
    );
    socket.on('error', () => undefined);
    socket.pause(); // never reads
    // Wait until the server stops sending (the socket buffers are full), then look at what it holds.
    let last = -1;
    await eventually(async () => {
      const now = listener.stats.sentBytes;
      const stalled = now === last && now > 0;
      last = now;
      expect(stalled).to.equal(true);
    }, 20_000);
    expect(listener.stats.sentBytes).to.be.lessThan(32 * MiB);
    expect(listener.stats.buffersInUse).to.be.at.most(3);
    expect(listener.stats.connections).to.equal(1);
    grants.settled(request.sourceName); // the push's verdict: the server ends the stream (the paused client cannot see it)
    await eventually(async () => {
      expect(listener.stats.connections).to.equal(0);
      expect(listener.stats.buffersInUse).to.equal(0);
      expect(slots.inUse).to.equal(0);
    });
    socket.destroy();
  });
});
