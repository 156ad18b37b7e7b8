/**
 * Faster paths for the key handling ssh2 (1.17) does at every handshake, on both ends: rportd and
 * each agent. Each replaces a method of an ssh2-private prototype with one that computes the same
 * bytes through a cheaper import or export of the same key; where the prototype is not the expected
 * shape (another ssh2), nothing is changed and ssh2 works as before.
 *
 * Why: ssh2 moves every key through SPKI DER or PEM, and OpenSSL's DER and PEM decoders cost several
 * times the X25519 or ed25519 arithmetic itself. In a reconnect storm of 1000 agents these imports
 * were a large share of both processes' CPU (docs/benchmarks.md, "Storm"):
 * - Curve25519Exchange.getPublicKey exports the ephemeral key as DER at each of its calls;
 * - Curve25519Exchange.computeSecret imports the peer's 32 bytes as DER;
 * - a parsed key's verify (the agent checking rportd's host key signature) decodes the key's PEM at
 *   every handshake, although every agent meets the same host key.
 */
import { createPublicKey, diffieHellman, verify, type KeyObject } from 'node:crypto';
import type { Connection } from 'ssh2';
import ssh2 from 'ssh2';

/** Set on a prototype once its methods were replaced. */
const PATCHED = Symbol('rport fast key paths');
/** Host keys whose KeyObject is kept; an agent meets one (or a few behind a load balancer). */
const MAX_CACHED_HOST_KEYS = 16;

interface Curve25519Kex {
  type: string;
  _keys: { publicKey: KeyObject; privateKey: KeyObject } | null;
  generateKeys(): void;
  getPublicKey(): Buffer;
  computeSecret(otherPublicKey: Buffer): Buffer | Error;
  [rawPublic]?: Buffer;
}
const rawPublic = Symbol('raw X25519 public key');

/** An SSH mpint of a shared secret, as ssh2's own convertToMpint writes it. */
export function secretMpint(secret: Buffer): Buffer {
  let idx = 0;
  while (idx < secret.length && secret[idx] === 0x00) idx += 1;
  const rest = secret.subarray(idx);
  if (rest.length > 0 && rest[0] & 0x80) return Buffer.concat([Buffer.from([0]), rest]);
  return idx === 0 ? secret : Buffer.from(rest);
}

/**
 * Once a connection finished its key exchange: if it was curve25519, its exchange's prototype
 * (shared by every later exchange of this process) gets the JWK-based methods.
 */
export function fasterKeyExchange(connection: Connection | ssh2.Client): void {
  const kex = (connection as unknown as { _protocol?: { _kex?: unknown } })._protocol?._kex;
  if (!kex || typeof kex !== 'object') return;
  const proto = Object.getPrototypeOf(kex) as Partial<Curve25519Kex> & { [PATCHED]?: true };
  if (proto[PATCHED] || (kex as Curve25519Kex).type !== '25519') return;
  if (typeof proto.generateKeys !== 'function' || typeof proto.computeSecret !== 'function') return;
  if (typeof proto.getPublicKey !== 'function') return;
  proto[PATCHED] = true;
  proto.getPublicKey = function jwkGetPublicKey(this: Curve25519Kex): Buffer {
    this.generateKeys();
    const x = this._keys!.publicKey.export({ format: 'jwk' }).x!;
    return (this[rawPublic] ??= Buffer.from(x, 'base64url'));
  };
  proto.computeSecret = function jwkComputeSecret(this: Curve25519Kex, other: Buffer): Buffer | Error {
    this.generateKeys();
    try {
      const publicKey = createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: other.toString('base64url') },
        format: 'jwk',
      });
      return secretMpint(diffieHellman({ privateKey: this._keys!.privateKey, publicKey }));
    } catch (e) {
      return e as Error;
    }
  };
}

let hostKeyVerifyTried = false;

type Verify = (data: Buffer, signature: Buffer, algo?: string) => boolean | Error;

/**
 * Parsed keys (ssh2's shared key prototype) verify with a KeyObject made once per public key PEM
 * instead of decoding the PEM at every signature. Called once when the agent's module loads.
 */
export function fasterHostKeyVerify(): void {
  if (hostKeyVerifyTried) return;
  hostKeyVerifyTried = true;
  // Any ed25519 public key: only its prototype and the names of its fields are used.
  const sample = ssh2.utils.parseKey(
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJVfQmRpdSvA0UBzp1QKo/nPytCFFLFaTa1WPb546k4K',
  );
  if (sample instanceof Error || Array.isArray(sample)) return;
  const proto = Object.getPrototypeOf(sample) as { verify?: Verify; [PATCHED]?: true };
  const original = proto.verify;
  if (proto[PATCHED] || typeof original !== 'function') return;
  const pemField = Object.getOwnPropertySymbols(sample).find((s) => s.description === 'Public key PEM');
  const algoField = Object.getOwnPropertySymbols(sample).find((s) => s.description === 'Hash Algorithm');
  if (!pemField || !algoField) return;
  const cache = new Map<string, KeyObject>();
  proto[PATCHED] = true;
  proto.verify = function fastVerify(this: Record<symbol, unknown>, data, signature, algo) {
    const pem = this[pemField];
    if (typeof pem !== 'string') return original.call(this, data, signature, algo);
    let key = cache.get(pem);
    try {
      if (!key) {
        if (cache.size >= MAX_CACHED_HOST_KEYS) cache.clear();
        cache.set(pem, (key = createPublicKey(pem)));
      }
      const hash = typeof algo === 'string' && algo ? algo : (this[algoField] as string | null);
      return verify(hash ?? null, data, key, signature);
    } catch (e) {
      return e as Error;
    }
  };
}
