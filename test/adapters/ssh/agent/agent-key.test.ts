import { expect } from 'chai';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_KEY_FILE, loadOrCreateAgentKey } from '../../../../src/adapters/ssh/agent/agent-key.ts';
import { publicKeyOf, verifyProof } from '../../../../src/adapters/ssh/hello-proof.ts';

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe("the agent's own key (issue 17 item 5)", () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'rport-agent-key-'));
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  it('is made on first start in data_dir: the file 0600, the folder 0700, whatever the umask', async () => {
    const dataDir = join(base, 'data');
    const old = process.umask(0o000);
    try {
      const key = await loadOrCreateAgentKey(dataDir);
      expect(key.path).to.equal(join(dataDir, AGENT_KEY_FILE));
    } finally {
      process.umask(old);
    }
    expect(await modeOf(join(dataDir, AGENT_KEY_FILE))).to.equal(0o600);
    expect(await modeOf(dataDir)).to.equal(0o700);
  });

  it('is the same key on the next start, and its proofs verify with its public half', async () => {
    const first = await loadOrCreateAgentKey(base);
    const again = await loadOrCreateAgentKey(base);
    expect(again.publicKey).to.equal(first.publicKey);
    expect(again.fingerprint).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const pub = publicKeyOf(first.publicKey);
    if (typeof pub === 'string') throw new Error(pub);
    const proof = again.prove('challenge-1', 'web-1');
    expect(await verifyProof(pub, proof, 'challenge-1', 'web-1', first.publicKey)).to.equal(true);
    expect(
      await verifyProof(pub, proof, 'challenge-2', 'web-1', first.publicKey),
      'another challenge',
    ).to.equal(false);
    expect(await verifyProof(pub, proof, 'challenge-1', 'web-2', first.publicKey), 'another id').to.equal(
      false,
    );
  });

  it('a key file an older install left readable by others is tightened to 0600', async () => {
    await loadOrCreateAgentKey(base);
    await chmod(join(base, AGENT_KEY_FILE), 0o644);
    await loadOrCreateAgentKey(base);
    expect(await modeOf(join(base, AGENT_KEY_FILE))).to.equal(0o600);
  });

  it('a key file that cannot be read stops the start with an error naming the file and what to do', async () => {
    await writeFile(join(base, AGENT_KEY_FILE), 'not a key', { mode: 0o600 });
    const err = await loadOrCreateAgentKey(base).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.include(join(base, AGENT_KEY_FILE));
    expect(err?.message).to.include('rportcli clients release-key');
  });

  it('hello.key must be the base64 of 32 bytes', () => {
    expect(publicKeyOf('AAAA')).to.equal('hello.key must be an ed25519 public key: base64 of 32 bytes');
    expect(publicKeyOf('not base64!')).to.be.a('string');
  });
});
