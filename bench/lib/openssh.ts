import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type Children } from './children.ts';
import { freePort, waitForPort } from './net.ts';
import { cpuMsOf } from './proc-cpu.ts';

const SSHD = '/usr/sbin/sshd';

export interface PrivateSshd {
  port: number;
  /**
   * Fetches remotePath to localPath with `sftp -b`; resolves with the wall time in ms, and the CPU ms
   * of both ends (sftp and its ssh, reaped by this process; sshd's session processes, reaped by sshd).
   */
  fetch(remotePath: string, localPath: string, cipher?: string): Promise<{ ms: number; cpuMs?: number }>;
  stop(): Promise<void>;
}

/** Why the OpenSSH reference cannot run here, or undefined when it can. */
export function opensshMissing(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install -y openssh-server openssh-client)`;
  if (!existsSync('/usr/bin/sftp') && !existsSync('/usr/local/bin/sftp'))
    return 'sftp is missing (apt-get install -y openssh-client)';
  if (process.getuid?.() !== 0)
    return 'the private sshd reference runs as root (UsePAM no, login as the current user)';
  return undefined;
}

/** A running private sshd: its port, its process, and the key the clients log in with. */
export interface RunningSshd {
  port: number;
  sshd: ChildProcess;
  userKey: string;
}

/**
 * Starts OpenSSH's sshd on a free loopback port, with its own host key, config and authorized key
 * in dir; `extra` lines go at the end of sshd_config (Match blocks must come last).
 */
export async function startSshd(children: Children, dir: string, extra: string[] = []): Promise<RunningSshd> {
  await mkdir(dir, { recursive: true });
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  await runCommand(children, 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  await runCommand(children, 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${userKey}.pub`), { mode: 0o600 });
  // sshd insists on its privilege separation directory.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      ...extra,
      '',
    ].join('\n'),
  );
  const sshd = children.spawn(SSHD, ['-f', config, '-D', '-e']);
  let log = '';
  sshd.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4096)));
  const exited = new Promise<never>((_, reject) =>
    sshd.once('exit', (code) => reject(new Error(`sshd exited with ${code}: ${log.trim()}`))),
  );
  exited.catch(() => undefined);
  await waitForPort(port, 10_000, 'the private sshd', exited);
  return { port, sshd, userKey };
}

/** A private OpenSSH sshd on a loopback port, with its own config, host key and authorized key in dir. */
export async function startPrivateSshd(children: Children, dir: string): Promise<PrivateSshd> {
  const { port, sshd, userKey } = await startSshd(children, dir);
  const user = (await import('node:os')).userInfo().username;
  return {
    port,
    async fetch(remotePath, localPath, cipher) {
      const batch = join(dir, 'batch');
      await writeFile(batch, `get ${remotePath} ${localPath}\n`);
      const opts = [
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'LogLevel=ERROR',
      ];
      if (cipher) opts.push('-c', cipher);
      const cpu = (): number | undefined => {
        const [client, server] = [cpuMsOf('self', true), cpuMsOf(sshd.pid!, true)];
        return client === undefined || server === undefined ? undefined : client + server;
      };
      const before = cpu();
      const { ms } = await runCommand(children, 'sftp', [
        '-q',
        '-b',
        batch,
        '-P',
        String(port),
        '-i',
        userKey,
        ...opts,
        `${user}@127.0.0.1`,
      ]);
      // sshd reaps its session process just after sftp exits: wait for that, so its CPU is counted.
      await new Promise((r) => setTimeout(r, 100));
      const after = cpu();
      return { ms, cpuMs: before === undefined || after === undefined ? undefined : after - before };
    },
    stop: () => children.kill(sshd),
  };
}
