import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { runCommand, type Children } from './children.ts';
import { opensshMissing, startSshd } from './openssh.ts';

const PARALLEL_SCP = '/usr/bin/parallel-scp';

/** Why the parallel-scp reference cannot run here, or undefined when it can. */
export function parallelScpMissing(): string | undefined {
  if (!existsSync(PARALLEL_SCP)) return `${PARALLEL_SCP} is missing (apt-get install -y pssh)`;
  return opensshMissing();
}

export interface SshdHosts {
  /** sshd's pid: its session processes' CPU shows in its reaped-children time. */
  pid: number;
  /** The directory each "host" writes its copy into, by host index. */
  destDirs: string[];
  /** `parallel-scp` of file to every host as `name` (relative: each host's own directory); wall time in ms. */
  copy(file: string, name: string): Promise<{ ms: number; stdout: string }>;
  stop(): Promise<void>;
}

/**
 * One private OpenSSH sshd on one loopback port, and `count` "hosts": ssh_config aliases that connect
 * to it from source addresses of their own (127.0.0.2, .3, ...; sshd listens on at most 16 sockets, so
 * not a port each). sshd forces each source address's sessions into `internal-sftp -d <its own
 * directory>`, so that the same relative remote path lands in a directory of each host's own, as on
 * separate machines. OpenSSH's scp speaks SFTP by default, so it goes through that forced subsystem.
 */
export async function startSshdHosts(children: Children, dir: string, count: number): Promise<SshdHosts> {
  const names = Array.from({ length: count }, (_, i) => `host-${String(i).padStart(2, '0')}`);
  const sources = names.map((_, i) => `127.0.0.${i + 2}`);
  const destDirs = names.map((name) => join(dir, name));
  for (const d of destDirs) await mkdir(d, { recursive: true });
  const { port, sshd, userKey } = await startSshd(children, dir, [
    // Every host logs in at once: the default (10:30:100) drops some of them at random.
    'MaxStartups 200',
    ...sources.flatMap((a, i) => [`Match Address ${a}`, `  ForceCommand internal-sftp -d ${destDirs[i]}`]),
  ]);
  const clientConfig = join(dir, 'ssh_config');
  await writeFile(
    clientConfig,
    [
      ...names.flatMap((name, i) => [`Host ${name}`, `  BindAddress ${sources[i]}`]),
      'Host *',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      `  IdentityFile ${userKey}`,
      '  IdentitiesOnly yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const hosts = join(dir, 'hosts');
  await writeFile(hosts, names.map((name) => `${name}\n`).join(''));
  return {
    pid: sshd.pid!,
    destDirs,
    async copy(file, name) {
      // pssh's defaults otherwise (it runs `scp -qC`); -p: all hosts at once, -t 0: no timeout.
      const args = ['-h', hosts, '-l', userInfo().username, '-p', String(count), '-t', '0'];
      const { ms, stdout } = await runCommand(children, PARALLEL_SCP, [
        ...args,
        '-x',
        `-F ${clientConfig}`,
        file,
        name,
      ]);
      return { ms, stdout };
    },
    stop: () => children.kill(sshd),
  };
}
