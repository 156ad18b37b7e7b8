import { formatMode } from '../../domain/file-mode.ts';
import type { Ownership } from '../../domain/ownership.ts';
import type { PrivilegedFiles } from '../../ports/privileged-files.ts';
import { errnoError } from './errno-error.ts';
import type { MemoryLocalFiles } from './memory-local-files.ts';

/**
 * sudo -n over a MemoryLocalFiles host: an operation the agent's user could not do itself runs as
 * root only when one of the configured sudoers command lines matches it, as sudo would.
 * Rules are written like the spec's sudoers lines, e.g.
 * `/usr/bin/chown * /var/lib/rport/filepush/*_rport_filepush`; `*` matches any characters.
 */
export class MemoryPrivilegedFiles implements PrivilegedFiles {
  private readonly rules: { text: string; re: RegExp }[];
  /** Every command line that sudo ran, for assertions. */
  readonly ran: string[] = [];

  constructor(
    private readonly files: MemoryLocalFiles,
    rules: string[],
  ) {
    this.rules = rules.map((text) => ({ text, re: sudoersPattern(text) }));
  }

  async chown(tempPath: string, ownership: Ownership): Promise<void> {
    const spec = `${ownership.user ?? ''}${ownership.group !== undefined ? ':' + ownership.group : ''}`;
    const root = this.escalate(
      ['/usr/bin/chown', spec, tempPath],
      `/usr/bin/chown * ${this.files.filepushDir}/*_rport_filepush`,
    );
    await root.chown(tempPath, await root.lookup(ownership));
  }

  async chmod(tempPath: string, mode: number): Promise<void> {
    const root = this.escalate(
      ['/usr/bin/chmod', formatMode(mode), tempPath],
      `/usr/bin/chmod * ${this.files.filepushDir}/*_rport_filepush`,
    );
    await root.chmod(tempPath, mode);
  }

  async move(tempPath: string, destination: string): Promise<void> {
    const root = this.escalate(
      ['/usr/bin/mv', tempPath, destination],
      `/usr/bin/mv ${this.files.filepushDir}/*_rport_filepush *`,
    );
    await root.place(tempPath, destination, 0o755);
  }

  /** The root view of the host when a rule allows argv; otherwise EPERM naming the missing rule. */
  private escalate(argv: string[], suggested: string): MemoryLocalFiles {
    const line = argv.join(' ');
    if (this.files.uid !== 0 && !this.rules.some((r) => r.re.test(line))) {
      throw errnoError(
        'EPERM',
        `sudo: no sudoers rule allows "${line}"; add one such as "rport ALL=NOPASSWD: ${suggested}" to /etc/sudoers.d/rport-filereception`,
      );
    }
    this.ran.push(line);
    return this.files.asUser(0, 0);
  }
}

function sudoersPattern(rule: string): RegExp {
  const body = rule
    .trim()
    .split(/\s+/)
    .join(' ')
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
