import ssh2, { type ClientChannel, type SFTPWrapper } from 'ssh2';
import type { AgentIdentity } from '../../../src/adapters/ssh/agent/agent-key.ts';
import { CONTROL_SUBSYSTEM, PROTOCOL_VERSION } from '../../../src/adapters/ssh/protocol.ts';
import { testIdentity } from './fakes.ts';

/** What a rogue with valid credentials runs on a raw ssh2 client (connectRaw), to play the hostile agent. */

/** Waits until cond holds (the test's own timeout bounds the wait). */
export async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

/** The rogue's own key pair: it proves this key at hello, like any agent, and claims ids with it. */
export const ROGUE_KEY = testIdentity();

/** A hello for id, proving identity's key over the challenge this connection's server sent. */
export const helloLine = (id: string, challenge: string, identity: AgentIdentity = ROGUE_KEY): string =>
  JSON.stringify({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    id,
    name: id,
    hostname: id,
    os: 'linux',
    tags: [],
    version: 'x',
    file_reception: { enabled: true, protected: [] },
    key: identity.publicKey,
    proof: identity.prove(challenge, id),
  }) + '\n';

/** The challenge among the lines received so far, once it came. */
export async function challengeIn(lines: Record<string, unknown>[]): Promise<string> {
  await until(() => lines.some((l) => l.type === 'challenge'));
  return String(lines.find((l) => l.type === 'challenge')!.challenge);
}

/**
 * Reads the server's challenge, then stops reading the channel (paused, no listener): for a rogue
 * that leaves the server's answers unread.
 */
export function challengeOf(control: ClientChannel): Promise<string> {
  return new Promise((resolve) => {
    let pending = '';
    const take = (d: Buffer): void => {
      pending += d.toString();
      const nl = pending.indexOf('\n');
      if (nl < 0) return;
      control.off('data', take);
      control.pause();
      resolve(String((JSON.parse(pending.slice(0, nl)) as { challenge: unknown }).challenge));
    };
    control.on('data', take);
  });
}

export const openControl = (c: ssh2.Client): Promise<ClientChannel> =>
  new Promise((resolve, reject) => c.subsys(CONTROL_SUBSYSTEM, (e, ch) => (e ? reject(e) : resolve(ch))));

/** Collects the JSON lines the server sends on a control channel. */
export function linesOf(control: ClientChannel): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  control.on('data', (d: Buffer) => {
    pending += d.toString();
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      lines.push(JSON.parse(pending.slice(0, nl)) as Record<string, unknown>);
      pending = pending.slice(nl + 1);
    }
  });
  return lines;
}

/**
 * Opens the control channel and says hello as `id` with identity's key; resolves at the welcome
 * (or at the server's error, with `refused`), with the lines received so far.
 */
export async function helloAs(
  c: ssh2.Client,
  id: string,
  identity: AgentIdentity = ROGUE_KEY,
): Promise<{ control: ClientChannel; lines: Record<string, unknown>[]; refused?: string }> {
  const control = await openControl(c);
  const lines = linesOf(control);
  control.write(helloLine(id, await challengeIn(lines), identity));
  await until(() => lines.some((l) => l.type === 'welcome' || l.type === 'error'));
  const error = lines.find((l) => l.type === 'error');
  return { control, lines, refused: error && String(error.message) };
}

export const sftpOf = (c: ssh2.Client): Promise<SFTPWrapper> =>
  new Promise((resolve, reject) => c.sftp((e, s) => (e ? reject(e) : resolve(s))));

/** Resolves with the SFTP error message, or 'ALLOWED' when the server let the operation through. */
export const attempt = (op: (cb: (err?: Error | null) => void) => void): Promise<string> =>
  new Promise((resolve) => op((err) => resolve(err ? err.message : 'ALLOWED')));
