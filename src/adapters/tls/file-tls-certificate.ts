/**
 * The certificate of rportd's file-fetch TLS listener: made at first start and kept in data_dir (like
 * the SSH host key), or an admin's cert and key. Agents never check it against a CA: they pin its
 * SHA-256 fingerprint, which reaches them over the authenticated SSH control channel with each grant.
 * The self-signed certificate is encoded here (a few DER fields) so that rportd needs no openssl binary.
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const CERT_FILE = 'file_tls_cert.pem';
const KEY_FILE = 'file_tls_key.pem';

export interface FileTlsCertificate {
  cert: string;
  key: string;
  /** `SHA256:<base64 without padding>` of the certificate's DER bytes: what agents pin. */
  fingerprint: string;
  certPath: string;
}

/** `SHA256:<base64 without padding>` of a certificate's DER bytes (the notation of the SSH host key). */
export function certificateFingerprint(der: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(der).digest('base64').replace(/=+$/, '');
}

/**
 * The admin's cert_file and key_file when given (both or neither; the config checks that), otherwise
 * `{dataDir}/file_tls_cert.pem` and `file_tls_key.pem`, made on first start. Errors name the file.
 */
export async function loadOrCreateFileTlsCertificate(
  dataDir: string,
  files?: { certFile: string; keyFile: string },
): Promise<FileTlsCertificate> {
  if (files) return readPair(files.certFile, files.keyFile);
  const certPath = join(dataDir, CERT_FILE);
  const keyPath = join(dataDir, KEY_FILE);
  try {
    return await readPair(certPath, keyPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dataDir, { recursive: true });
  const made = selfSignedCertificate();
  // The key first and 'wx' for both: never overwrite what another process just wrote.
  await writeFile(keyPath, made.key, { mode: 0o600, flag: 'wx' });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, made.cert, { mode: 0o644, flag: 'wx' });
  return readPair(certPath, keyPath);
}

async function readPair(certPath: string, keyPath: string): Promise<FileTlsCertificate> {
  const cert = await readFile(certPath, 'utf8');
  const key = await readFile(keyPath, 'utf8');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new Error(`file TLS certificate ${certPath} cannot be read: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new Error(`file TLS key ${keyPath} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new Error(`file TLS key ${keyPath} does not belong to the certificate ${certPath}`);
  return { cert, key, fingerprint: certificateFingerprint(x509.raw), certPath };
}

// --- DER, only what one self-signed ed25519 certificate needs ---

const der = (tag: number, body: Buffer): Buffer => {
  const n = body.length;
  const len =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...parts: Buffer[]): Buffer => der(0x30, Buffer.concat(parts));
const oid = (bytes: number[]): Buffer => der(0x06, Buffer.from(bytes));
/** 1.3.101.112: Ed25519 (RFC 8410). */
const ED25519 = seq(oid([0x2b, 0x65, 0x70]));
/** 2.5.4.3: commonName. */
const name = (cn: string): Buffer =>
  seq(der(0x31, seq(oid([0x55, 0x04, 0x03]), der(0x0c, Buffer.from(cn, 'utf8')))));
/** UTCTime until 2049, GeneralizedTime after (RFC 5280, 4.1.2.5). */
const time = (d: Date): Buffer => {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(s.slice(2))) : der(0x18, Buffer.from(s));
};

/** A new ed25519 key and a self-signed certificate for it, PEM, valid from an hour ago for 30 years. */
export function selfSignedCertificate(now = new Date()): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const serial = randomBytes(16);
  // A positive INTEGER in minimal DER: the top bit clear, and the first byte never 0 (a leading zero
  // byte before a byte under 0x80 is "illegal padding", which OpenSSL refuses).
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const from = new Date(now.getTime() - 3600_000);
  const until = new Date(now.getTime() + 30 * 365 * 86_400_000);
  const subject = name('rportd file fetch');
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // version 3
    der(0x02, serial),
    ED25519,
    subject,
    seq(time(from), time(until)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign(null, tbs, privateKey);
  const certDer = seq(tbs, ED25519, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = certDer.toString('base64').replace(/(.{64})/g, '$1\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
