import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SingleBar } from 'cli-progress';
import { LocalFileError } from '../../adapters/rportcli-api/api-errors.ts';
import type { UploadReceipt, UploadRequest } from '../../adapters/rportcli-api/api-types.ts';
import type { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import type { WsResultsListener } from '../../adapters/rportcli-api/ws-results-listener.ts';
import { EXIT_OK, EXIT_TARGET_FAILED } from './errors.ts';
import { printJson, type CliIo } from './output.ts';
import { ResultsTable, isFailure, type TargetRow } from './results-table.ts';

export interface UploadOptions extends UploadRequest {
  /** Seconds to wait for every target's outcome once the file is on the server. */
  timeout: number;
  json: boolean;
}

const POLL_MS = 2000;

/**
 * Upload, then follow: the results socket opens before the first byte goes up (the server keeps no
 * backlog for listeners), the file streams with a progress bar, then outcomes fill the table until
 * every target has answered or the timeout passes. Returns the exit code.
 */
export async function runUpload(api: RportApiClient, opts: UploadOptions, io: CliIo): Promise<number> {
  await checkLocalFile(opts.file);
  const listener = await api.listen();
  try {
    const receipt = await sendWithProgress(api, opts, io);
    const table = new ResultsTable(io, opts.json ? 'silent' : io.stdout.isTTY ? 'live' : 'lines');
    if (!opts.json)
      io.stdout.write(
        `uploaded ${basename(opts.file)} (${receipt.size} bytes) for ${receipt.filepath}, upload ${receipt.uuid}\n`,
      );
    await follow(api, listener, receipt, table, opts.timeout);
    const rows = table.all;
    const failed = rows.filter(isFailure);
    if (opts.json) printJson(io, { ...receipt, ok: failed.length === 0, results: rows });
    else io.stdout.write(`${summary(rows)}\n`);
    return failed.length === 0 ? EXIT_OK : EXIT_TARGET_FAILED;
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

/** Fills the table from the socket; falls back to polling the stored results if the socket drops. */
async function follow(
  api: RportApiClient,
  listener: WsResultsListener,
  receipt: UploadReceipt,
  table: ResultsTable,
  timeoutS: number,
): Promise<void> {
  // The socket delivers outcomes only; the targets (groups expanded) come from the stored results.
  const stored = await api.status(receipt.uuid);
  table.expect(stored.targets.map((t) => t.client_id));
  for (const t of stored.targets) if (t.status !== 'pending') table.update(t);
  if (table.settled) return;

  await new Promise<void>((resolve) => {
    let poller: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(deadline);
      clearInterval(poller);
      unfollow();
      resolve();
    };
    const deadline = setTimeout(finish, timeoutS * 1000);
    const unfollow = listener.follow(receipt.uuid, (o) => {
      table.update(o);
      if (table.settled) finish();
    });
    listener.onDropped(() => {
      poller = setInterval(() => {
        api.status(receipt.uuid).then(
          (s) => {
            for (const t of s.targets) if (t.status !== 'pending') table.update(t);
            if (table.settled) finish();
          },
          () => undefined, // keep polling until the deadline: the server may come back
        );
      }, POLL_MS);
    });
  });
  if (!table.settled) {
    // One last look at the stored results: an outcome may have been recorded while the socket was quiet.
    const last = await api.status(receipt.uuid).catch(() => undefined);
    for (const t of last?.targets ?? []) if (t.status !== 'pending') table.update(t);
    table.timeOut(timeoutS);
  }
}

function summary(rows: TargetRow[]): string {
  const count = (s: TargetRow['status']): number => rows.filter((r) => r.status === s).length;
  const parts = (['success', 'ignored', 'error', 'timeout'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  return `${rows.length} target${rows.length === 1 ? '' : 's'}: ${parts.join(', ') || 'none answered'}`;
}

export type { TargetRow };
