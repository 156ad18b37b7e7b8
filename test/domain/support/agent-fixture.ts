import { createHash } from 'node:crypto';
import { ApplyOwnership } from '../../../src/domain/apply-ownership.ts';
import { ProtectedPaths } from '../../../src/domain/protected-paths.ts';
import type { PushVerdict } from '../../../src/domain/outcome.ts';
import { stagedName, type PushRequest } from '../../../src/domain/push-request.ts';
import { ReceiveFile, type ReceptionSettings } from '../../../src/domain/receive-file.ts';
import { NO_VALIDATORS, ValidationStep } from '../../../src/domain/validation-step.ts';
import type { VerifiedFileStep } from '../../../src/domain/verified-file-step.ts';
import {
  InMemoryFileSource,
  type FileSourceFaults,
} from '../../../src/adapters/memory/in-memory-file-source.ts';
import type { InMemoryLink } from '../../../src/adapters/memory/in-memory-link.ts';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.ts';
import { MemoryLocalFiles } from '../../../src/adapters/memory/memory-local-files.ts';
import { MemoryPrivilegedFiles } from '../../../src/adapters/memory/memory-privileged-files.ts';
import {
  InMemoryValidatorRunner,
  type FakeValidator,
} from '../../../src/adapters/memory/in-memory-validator-runner.ts';

export const DATA_DIR = '/var/lib/rport';
export const RPORT_UID = 1001;
export const RPORT_GID = 1001;
export const HERO_UID = 1002;
export const STAFF_GID = 50;

/** The spec's sudoers example: chown and mv of files staged in the agent's filepush dir. */
export const SPEC_SUDO_RULES = [
  `/usr/bin/chown * ${DATA_DIR}/filepush/*_rport_filepush`,
  `/usr/bin/mv ${DATA_DIR}/filepush/*_rport_filepush *`,
];

export const md5 = (data: Uint8Array | string): string => createHash('md5').update(data).digest('hex');
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface AgentOptions {
  uid?: number;
  gid?: number;
  sudoRules?: string[];
  settings?: Partial<ReceptionSettings>;
  faults?: FileSourceFaults;
  chunkSize?: number;
  link?: InMemoryLink;
  /** What the validators run through the fake runner do (default: every one passes). */
  validator?: FakeValidator;
  /** Steps run on each verified temp file after the validators (the validators' hook). */
  steps?: VerifiedFileStep[];
}

/** One agent host: a fake filesystem seen as the unprivileged `rport` user, sudo, and ReceiveFile. */
export function makeAgent(opts: AgentOptions = {}) {
  const clock = new ManualClock();
  const files = new MemoryLocalFiles({
    dataDir: DATA_DIR,
    uid: opts.uid ?? RPORT_UID,
    gid: opts.gid ?? RPORT_GID,
    memberOf: [STAFF_GID],
    accounts: {
      users: { root: 0, rport: RPORT_UID, hero: HERO_UID },
      groups: { root: 0, rport: RPORT_GID, staff: STAFF_GID },
    },
  });
  files.mkdirp('/etc', { mode: 0o755 });
  files.mkdirp('/srv/app', { mode: 0o755, uid: RPORT_UID, gid: RPORT_GID });
  const served = new Map<string, Uint8Array>();
  let opened = 0;
  const source = new InMemoryFileSource({
    read: (name) => {
      opened++;
      return served.get(name);
    },
    clock,
    link: opts.link,
    faults: opts.faults,
    chunkSize: opts.chunkSize ?? 4,
  });
  const privileged = new MemoryPrivilegedFiles(files, opts.sudoRules ?? SPEC_SUDO_RULES);
  const settings: ReceptionSettings = {
    enabled: true,
    protectedPaths: ProtectedPaths.defaults('posix'),
    flavor: 'posix',
    backup: false,
    allowSpecialBits: false,
    ...opts.settings,
  };
  const validators = new InMemoryValidatorRunner(opts.validator ?? (() => ({ exitCode: 0 })));
  const receive = new ReceiveFile(
    files,
    source,
    privileged,
    new ApplyOwnership(files, privileged),
    settings,
    clock,
    opts.steps,
    new ValidationStep(settings.validators ?? NO_VALIDATORS, validators),
  );
  let seq = 0;

  /** A push request for content, with the bytes staged on the fake server under a fresh uuid. */
  const request = (content: string, over: Partial<PushRequest> = {}): PushRequest => {
    const uuid = `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
    served.set(stagedName(uuid), bytes(content));
    return {
      uuid,
      sourceName: stagedName(uuid),
      destination: '/srv/app/file.txt',
      size: bytes(content).byteLength,
      md5: md5(content),
      force: false,
      sync: false,
      ownership: {},
      ...over,
    };
  };
  const push = (content: string, over: Partial<PushRequest> = {}): Promise<PushVerdict> =>
    receive.execute(request(content, over));

  return {
    clock,
    files,
    privileged,
    receive,
    settings,
    request,
    push,
    served,
    validators,
    opened: () => opened,
  };
}
