import { FsLocalFiles } from '../../adapters/fs/fs-local-files.ts';
import type { PushLog } from '../../adapters/log/push-log.ts';

type Options = ConstructorParameters<typeof FsLocalFiles>[0];

/** The agent's files, with a log line for every backup `[file-reception] backup` makes. */
export class BackupLoggingFiles extends FsLocalFiles {
  constructor(
    options: Options,
    private readonly log: PushLog,
  ) {
    super(options);
  }

  override async backup(destination: string, stamp: string): Promise<string> {
    const kept = await super.backup(destination, stamp);
    this.log.backedUp(destination, kept);
    return kept;
  }
}
