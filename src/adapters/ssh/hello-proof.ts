/**
 * The proof an agent gives at `hello` that it holds the private half of the key it names
 * (docs/protocol.md, "Client keys"): an ed25519 signature over the challenge the server sent on this
 * control channel, the client id and the key. The challenge is fresh per connection, so a hello
 * seen on one connection proves nothing on another.
 */
import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';

/** Bytes of an ed25519 public key, and of the challenge. */
const KEY_BYTES = 32;
const CHALLENGE_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export const newChallenge = (): string => randomBytes(CHALLENGE_BYTES).toString('base64');

/** What the agent signs; a context string first, so that the signature means nothing elsewhere. */
export function proofPayload(challenge: string, clientId: string, key: string): Buffer {
  return Buffer.from(`rport-hello-proof/v2\n${challenge}\n${clientId}\n${key}`, 'utf8');
}

/** `SHA256:<base64 without padding>` of the key's 32 bytes. */
export function keyFingerprint(key: string): string {
  return (
    'SHA256:' + createHash('sha256').update(Buffer.from(key, 'base64')).digest('base64').replace(/=+$/, '')
  );
}

/**
 * The ed25519 public key a hello names, or a sentence naming what is wrong with hello.key. Imported
 * as a JWK, not as SPKI DER: OpenSSL's DER decoder costs several times the JWK path for the same key,
 * and rportd does this once per hello on its event loop.
 */
export function publicKeyOf(key: string): KeyObject | string {
  const raw = BASE64.test(key) ? Buffer.from(key, 'base64') : undefined;
  const wrong = `hello.key must be an ed25519 public key: base64 of ${KEY_BYTES} bytes`;
  if (!raw || raw.length !== KEY_BYTES || raw.toString('base64') !== key) return wrong;
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
  } catch (e) {
    return `${wrong} (${(e as Error).message})`;
  }
}

/**
 * True when proof is the key's signature over this challenge, id and key. Checked on libuv's thread
 * pool (crypto.verify with a callback), not on rportd's event loop, which a storm of agents
 * reconnecting at once keeps busy with handshakes.
 */
export function verifyProof(
  publicKey: KeyObject,
  proof: string,
  challenge: string,
  clientId: string,
  key: string,
): Promise<boolean> {
  if (!BASE64.test(proof)) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(
        null,
        proofPayload(challenge, clientId, key),
        publicKey,
        Buffer.from(proof, 'base64'),
        (err, ok) => resolve(!err && ok),
      );
    } catch {
      resolve(false);
    }
  });
}

/** The 32 bytes of an ed25519 public KeyObject, in base64: the form `hello.key` carries. */
export function rawPublicKey(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - KEY_BYTES).toString('base64');
}
