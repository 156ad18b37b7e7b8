import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsLocalFiles } from '../../../src/adapters/fs/fs-local-files.ts';
import { ApplyOwnership } from '../../../src/domain/apply-ownership.ts';
import type { PushVerdict } from '../../../src/domain/outcome.ts';
import type { Ownership } from '../../../src/domain/ownership.ts';
import { ProtectedPaths } from '../../../src/domain/protected-paths.ts';
import { stagedName, type PushRequest } from '../../../src/domain/push-request.ts';
import { ReceiveFile } from '../../../src/domain/receive-file.ts';
import type { Clock } from '../../../src/ports/clock.ts';
import type { FileSource } from '../../../src/ports/file-source.ts';
import type { PrivilegedFiles } from '../../../src/ports/privileged-files.ts';

export const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/** The error p rejects with; fails the test when p resolves. */
export const failure = async (p: Promise<unknown>): Promise<Error & { code?: string }> => {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a failure');
};

/** Serves each push's bytes from a Buffer, in small chunks like a network would. */
export class BufferSource implements FileSource {
  readonly bodies = new Map<string, Buffer>();
  async *open(request: PushRequest): AsyncIterable<Uint8Array> {
    const body = this.bodies.get(request.sourceName);
    if (!body) throw new Error(`no staged body for ${request.sourceName}`);
    for (let i = 0; i < body.length; i += 4096) yield body.subarray(i, i + 4096);
  }
}

/** The agent's user has no extra rights in these tests: every privileged call is refused and recorded. */
export class NoPrivileges implements PrivilegedFiles {
  readonly calls: string[] = [];
  async chown(tempPath: string, o: Ownership): Promise<void> {
    this.calls.push(`chown ${o.user ?? ''}:${o.group ?? ''} ${tempPath}`);
    throw Object.assign(new Error('no sudo in this test'), { code: 'EPERM' });
  }
  async chmod(tempPath: string, mode: number): Promise<void> {
    this.calls.push(`chmod ${mode.toString(8)} ${tempPath}`);
    throw Object.assign(new Error('no sudo in this test'), { code: 'EPERM' });
  }
  async move(tempPath: string, destination: string): Promise<void> {
    this.calls.push(`move ${tempPath} ${destination}`);
    throw Object.assign(new Error('no sudo in this test'), { code: 'EPERM' });
  }
}

export const fixedClock: Clock = {
  now: () => new Date('2024-05-06T07:08:09.010Z'),
  sleep: () => Promise.resolve(),
};

export interface Agent {
  root: string;
  dataDir: string;
  files: FsLocalFiles;
  source: BufferSource;
  privileged: PrivilegedFiles;
  receive: ReceiveFile;
  /** Stages body and builds a push request for dest; fields override the defaults. */
  push(dest: string, body: Buffer | string, fields?: Partial<PushRequest>): Promise<PushVerdict>;
  cleanup(): Promise<void>;
}

export async function makeAgent(
  opts: {
    protectedPaths?: string[] | ((root: string) => string[]);
    backup?: boolean;
    allowSpecialBits?: boolean;
    privileged?: PrivilegedFiles;
    dataDir?: string;
  } = {},
): Promise<Agent> {
  const root = await mkdtemp(join(tmpdir(), 'rport-fs-'));
  const dataDir = opts.dataDir ?? join(root, 'data');
  const files = new FsLocalFiles({ dataDir });
  const source = new BufferSource();
  const privileged = opts.privileged ?? new NoPrivileges();
  const patterns =
    typeof opts.protectedPaths === 'function' ? opts.protectedPaths(root) : opts.protectedPaths;
  const protectedPaths = patterns ? new ProtectedPaths(patterns, 'posix') : ProtectedPaths.defaults('posix');
  const receive = new ReceiveFile(
    files,
    source,
    privileged,
    new ApplyOwnership(files, privileged),
    {
      enabled: true,
      protectedPaths,
      flavor: 'posix',
      backup: opts.backup ?? false,
      allowSpecialBits: opts.allowSpecialBits ?? false,
    },
    fixedClock,
  );
  return {
    root,
    dataDir,
    files,
    source,
    privileged,
    receive,
    push(dest, body, fields = {}) {
      const bytes = Buffer.from(body);
      const uuid = randomUUID();
      source.bodies.set(stagedName(uuid), bytes);
      const req: PushRequest = {
        uuid,
        sourceName: stagedName(uuid),
        destination: dest,
        size: bytes.length,
        md5: md5(bytes),
        force: false,
        sync: false,
        ownership: {},
        ...fields,
      };
      return receive.execute(req);
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
