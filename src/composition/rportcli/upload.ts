import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SingleBar } from 'cli-progress';
import { LocalFileError } from '../../adapters/rportcli-api/api-errors.ts';
import type { UploadReceipt, UploadRequest } from '../../adapters/rportcli-api/api-types.ts';
import type { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import { follow, listen, type Say } from './follow.ts';
import { printJson, type CliIo } from './output.ts';
import { ResultsTable, exitCodeOf, summary, type TargetRow } from './results-table.ts';

export interface UploadOptions extends UploadRequest {
  /** Seconds to wait for every target's outcome once the file is on the server. */
  timeout: number;
  json: boolean;
  /** Exit 1 when a target ignored the push (the file there differs, and neither --force nor --sync). */
  failOnIgnored: boolean;
  say: Say;
}

/**
 * Upload, then follow: the results socket opens before the first byte goes up (the server keeps no
 * backlog for listeners), the file streams with a progress bar, then outcomes fill the table until
 * every target has answered or the timeout passes. Returns the exit code.
 */
export async function runUpload(api: RportApiClient, opts: UploadOptions, io: CliIo): Promise<number> {
  await checkLocalFile(opts.file);
  const listener = await listen(api, opts.say, ResultsTable.showsProgress(io, opts.json));
  try {
    const receipt = await sendWithProgress(api, opts, io);
    const sync = opts.sync === true;
    const table = ResultsTable.for(io, opts.json, sync);
    if (!opts.json)
      io.stdout.write(
        `uploaded ${basename(opts.file)} (${receipt.size} bytes) for ${receipt.filepath}, upload ${receipt.uuid}\n`,
      );
    await follow(api, listener, receipt.uuid, table, opts.timeout, opts.say);
    table.finish();
    const rows = table.all;
    const code = exitCodeOf(rows, opts.failOnIgnored, sync);
    if (opts.json) printJson(io, { ...receipt, ok: code === 0, results: rows });
    else io.stdout.write(`${opts.check ? 'check, nothing changed: ' : ''}${summary(rows, sync)}\n`);
    return code;
  } finally {
    listener.close();
  }
}

async function checkLocalFile(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile())
      throw new LocalFileError(
        path,
        s.isDirectory() ? 'is a directory; upload sends one file' : 'is not a regular file',
      );
  } catch (e) {
    if (e instanceof LocalFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new LocalFileError(path, code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
}

async function sendWithProgress(api: RportApiClient, opts: UploadOptions, io: CliIo): Promise<UploadReceipt> {
  // The bar goes to stderr, and only on a terminal: stdout stays clean for --json and pipes.
  const bar = io.stderr.isTTY
    ? new SingleBar({
        stream: io.stderr,
        format: 'upload [{bar}] {percentage}% {sent}/{size} MiB',
        hideCursor: true,
        clearOnComplete: true,
      })
    : undefined;
  const mib = (n: number): string => (n / 1048576).toFixed(1);
  try {
    return await api.upload(opts, (sent, total) => {
      if (!bar) return;
      if (sent === 0) bar.start(total, 0, { sent: mib(0), size: mib(total) });
      else bar.update(sent, { sent: mib(sent), size: mib(total) });
    });
  } finally {
    bar?.stop();
  }
}

export type { TargetRow };
