import { createHash, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';

const { utils } = ssh2;

const HOST_KEY_FILE = 'rportd_host_key';

export interface HostKey {
  /** The private key, OpenSSH PEM. */
  privateKey: Buffer;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  path: string;
}

/** SHA256 fingerprint of a public key blob (the SSH wire form), in OpenSSH's notation. */
export function fingerprintOf(publicKeyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '');
}

/** Loads `{dataDir}/rportd_host_key`, generating an ed25519 key there on first start. */
export async function loadOrCreateHostKey(dataDir: string): Promise<HostKey> {
  const path = join(dataDir, HOST_KEY_FILE);
  let privateKey: Buffer;
  try {
    privateKey = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(dataDir, { recursive: true });
    privateKey = generateParsableKey();
    // 'wx': never overwrite a key another process just wrote.
    await writeFile(path, privateKey, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  }
  const key = parseHostKey(privateKey, `host key ${path}`);
  return { privateKey, fingerprint: fingerprintOf(key.getPublicSSH()), path };
}

/** The private key as ssh2 parses it; an error naming `what` when it cannot. */
function parseHostKey(privateKey: Buffer, what: string): ParsedKey {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`${what} cannot be read: ${parsed.message}`);
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

/**
 * A new ed25519 key that ssh2 can read back: some keys from utils.generateKeyPairSync fail
 * utils.parseKey ("Malformed OpenSSH private key"; how often: docs/benchmarks.md, "ssh2 itself"),
 * and a host key written that way would stop every later start.
 */
export function generateParsableKey(): Buffer {
  for (let attempt = 0; attempt < 20; attempt++) {
    const key = Buffer.from(utils.generateKeyPairSync('ed25519').private);
    if (!(utils.parseKey(key) instanceof Error)) return key;
  }
  throw new Error('could not generate an ed25519 host key that ssh2 can read');
}

/**
 * The host key as ssh2's Server takes it, parsed once, and signing with a ready KeyObject.
 *
 * Why: ssh2 (1.17) keeps a parsed key's private half as a PEM string and passes that string to
 * crypto.sign at every handshake, so OpenSSL decodes the PEM each time, far slower than signing with
 * a KeyObject; in a reconnect storm that was rportd's largest single cost (docs/benchmarks.md,
 * "Storm"). The key's private PEM field is a module-private
 * symbol, found by its description; where it is missing (another ssh2), the key is returned as parsed
 * and signs as before.
 */
export function fastSigningHostKey(privateKey: Buffer): ParsedKey {
  const key = parseHostKey(privateKey, 'host key');
  const field = Object.getOwnPropertySymbols(key).find((s) => s.description === 'Private key PEM');
  const record = key as unknown as Record<symbol, unknown>;
  const pem = field && record[field];
  if (typeof pem === 'string') record[field!] = createPrivateKey(pem);
  return key;
}
