/**
 * The agent's own ed25519 key pair (issue 17 item 5): made on first start in `{data_dir}`, kept
 * there (file 0600, folder 0700), and used to prove at every `hello` that this agent is the one its
 * client id was bound to.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tightenMode } from '../../fs/tighten-mode.ts';
import { keyFingerprint, proofPayload, rawPublicKey } from '../hello-proof.ts';

export const AGENT_KEY_FILE = 'rport_client_key';

/** What the hello needs of the agent's key. */
export interface AgentIdentity {
  /** base64 of the 32-byte public key (`hello.key`). */
  publicKey: string;
  fingerprint: string;
  /** `hello.proof` for this challenge and client id. */
  prove(challenge: string, clientId: string): string;
}

export interface AgentKey extends AgentIdentity {
  path: string;
}

/** An identity over a private KeyObject (the key file's, or a test's). */
export function identityOf(privateKey: KeyObject): AgentIdentity {
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return {
    publicKey,
    fingerprint: keyFingerprint(publicKey),
    prove: (challenge, clientId) =>
      sign(null, proofPayload(challenge, clientId, publicKey), privateKey).toString('base64'),
  };
}

/** Loads `{dataDir}/rport_client_key`, making the key pair there on first start. */
export async function loadOrCreateAgentKey(dataDir: string): Promise<AgentKey> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  tightenMode(dataDir, 0o700);
  const path = join(dataDir, AGENT_KEY_FILE);
  let pem: Buffer;
  try {
    pem = await readFile(path);
    tightenMode(path, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`agent key ${path}: ${(e as Error).message}`, { cause: e });
    pem = Buffer.from(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    // 'wx': never overwrite a key another process just wrote; the chmod undoes a umask.
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new Error(`${unreadable(path)}: ${(e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${unreadable(path)}: it is not an ed25519 key`);
  return { ...identityOf(key), path };
}

const unreadable = (path: string): string =>
  `agent key ${path} cannot be read (move it away to make a new key; an admin must then release this ` +
  'client id on rportd, `rportcli clients release-key <id>`)';
