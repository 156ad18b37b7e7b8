import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { normalizePosix } from '../../domain/destination.ts';
import { formatMode } from '../../domain/file-mode.ts';
import { isPlainAccountName, type Ownership } from '../../domain/ownership.ts';
import type { PrivilegedFiles } from '../../ports/privileged-files.ts';

/** Where docs/sudoers.example and .ci/setup-privileged.sh install the root-owned helper. */
export const DEFAULT_HELPER = '/usr/local/libexec/rport/rport-filepush-helper.mjs';
const TEMP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}_rport_filepush$/;
const SUDO_TIMEOUT_MS = 60_000;

interface SudoPrivilegedFilesOptions {
  /** The agent's data_dir: only `{dataDir}/filepush/<id>_rport_filepush` is ever handed to sudo. */
  dataDir: string;
  /** The sudo binary (default: `sudo` from PATH). */
  sudo?: string;
  /** The root-owned helper that sudo may run (default DEFAULT_HELPER). */
  helper?: string;
}

/**
 * Agent side: chown, chmod and move through `sudo -n <helper>`, argv only, never a shell. The
 * helper re-checks everything as root; this side refuses early so that bad values never reach sudo.
 */
export class SudoPrivilegedFiles implements PrivilegedFiles {
  private readonly tempDir: string;
  private readonly sudo: string;
  private readonly helper: string;

  constructor(options: SudoPrivilegedFilesOptions) {
    this.tempDir = join(resolve(options.dataDir), 'filepush');
    this.sudo = options.sudo ?? 'sudo';
    this.helper = options.helper ?? DEFAULT_HELPER;
  }

  async chown(tempPath: string, ownership: Ownership): Promise<void> {
    this.checkTemp(tempPath);
    for (const field of ['user', 'group'] as const) {
      const name = ownership[field];
      if (name !== undefined && !isPlainAccountName(name))
        throw refused(`${field} "${name}" is not a plain account name; nothing was run`);
    }
    if (ownership.user === undefined && ownership.group === undefined) return;
    await this.run(['chown', '--', `${ownership.user ?? ''}:${ownership.group ?? ''}`, tempPath]);
  }

  async chmod(tempPath: string, mode: number): Promise<void> {
    this.checkTemp(tempPath);
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
      throw refused(`mode ${mode} is not a file mode between 0 and 07777; nothing was run`);
    await this.run(['chmod', '--', formatMode(mode), tempPath]);
  }

  async move(tempPath: string, destination: string): Promise<void> {
    this.checkTemp(tempPath);
    if (/[\0\n]/.test(destination) || normalizePosix(destination) !== destination || destination === '/') {
      throw refused(`destination "${destination}" is not a normalised absolute file path; nothing was run`);
    }
    await this.run(['move', '--', tempPath, destination]);
  }

  /** Only our own temp files, by their exact expected path, ever reach sudo. */
  private checkTemp(tempPath: string): void {
    const ok =
      dirname(tempPath) === this.tempDir && TEMP_NAME.test(basename(tempPath)) && !tempPath.includes('..');
    if (!ok)
      throw refused(
        `${tempPath} is not an rport temp file (${this.tempDir}/<id>_rport_filepush); nothing was run`,
      );
  }

  private run(args: string[]): Promise<void> {
    const argv = ['-n', this.helper, ...args];
    const shown = [this.sudo, ...argv].join(' ');
    return new Promise((done, fail) => {
      execFile(
        this.sudo,
        argv,
        { timeout: SUDO_TIMEOUT_MS, env: { ...process.env, LC_ALL: 'C' } },
        (error, _stdout, stderr) => {
          if (!error) return done();
          const code: unknown = (error as { code?: unknown }).code;
          const said = String(stderr).trim().replace(/\s+/g, ' ');
          if (code === 'ENOENT')
            return fail(privilege(`sudo is not installed (${this.sudo} not found); cannot run "${shown}"`));
          if (/^sudo:/m.test(String(stderr)) || said === '') return fail(privilege(missingRule(shown, said)));
          fail(privilege(`"${shown}" failed: ${said}`));
        },
      );
    });
  }
}

function missingRule(command: string, said: string): string {
  const user = safeUser();
  return (
    `no sudo rule lets ${user} run "${command}" without a password; ` +
    `install the rule from docs/sudoers.example in /etc/sudoers.d/ (sudo said: ${said || 'nothing'})`
  );
}

function safeUser(): string {
  try {
    return `user ${userInfo().username}`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

const refused = (message: string): Error => Object.assign(new Error(message), { code: 'EINVAL' });
const privilege = (message: string): Error => Object.assign(new Error(message), { code: 'EPERM' });
