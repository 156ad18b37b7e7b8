import ssh2, { type ClientChannel, type SFTPWrapper } from 'ssh2';
import { CONTROL_SUBSYSTEM } from '../../../src/adapters/ssh/protocol.ts';

/** What a rogue with valid credentials runs on a raw ssh2 client (connectRaw), to play the hostile agent. */

/** Waits until cond holds (the test's own timeout bounds the wait). */
export async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

export const helloLine = (id: string): string =>
  JSON.stringify({
    type: 'hello',
    protocol: 1,
    id,
    name: id,
    hostname: id,
    os: 'linux',
    tags: [],
    version: 'x',
    file_reception: { enabled: true, protected: [] },
  }) + '\n';

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

/** Opens the control channel and says hello as `id`; resolves at the welcome, with the lines received so far. */
export async function helloAs(
  c: ssh2.Client,
  id: string,
): Promise<{ control: ClientChannel; lines: Record<string, unknown>[] }> {
  const control = await openControl(c);
  const lines = linesOf(control);
  control.write(helloLine(id));
  await until(() => lines.some((l) => l.type === 'welcome'));
  return { control, lines };
}

export const sftpOf = (c: ssh2.Client): Promise<SFTPWrapper> =>
  new Promise((resolve, reject) => c.sftp((e, s) => (e ? reject(e) : resolve(s))));

/** Resolves with the SFTP error message, or 'ALLOWED' when the server let the operation through. */
export const attempt = (op: (cb: (err?: Error | null) => void) => void): Promise<string> =>
  new Promise((resolve) => op((err) => resolve(err ? err.message : 'ALLOWED')));
