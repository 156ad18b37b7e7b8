import type { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import { CliError } from './errors.ts';
import { follow, listen, type Say } from './follow.ts';
import { statusLines } from './listings.ts';
import { printJson, printLines, type CliIo } from './output.ts';
import { ResultsTable, exitCodeOf, summary } from './results-table.ts';

interface StatusOptions {
  uuid: string;
  json: boolean;
  /** Wait for every target's outcome, as upload does, instead of showing the stored results now. */
  wait: boolean;
  timeout: number;
  failOnIgnored: boolean;
  say: Say;
}

/**
 * `rportcli status`: the stored outcomes, exiting 3 while targets are pending; with --wait,
 * follows them to the end and exits as upload would. Returns the exit code.
 */
export async function runStatus(api: RportApiClient, opts: StatusOptions, io: CliIo): Promise<number> {
  // An empty uuid (an unset shell variable) would read GET /api/v1/files/, the list of uploads.
  if (!/^[0-9A-Za-z-]+$/.test(opts.uuid))
    throw new CliError(`status needs the uuid an upload answered with, not "${opts.uuid}"`);
  if (!opts.wait) {
    const status = await api.status(opts.uuid);
    const sync = status.upload.sync === true;
    if (opts.json) printJson(io, status);
    else printLines(io, [...statusLines(status), summary(status.targets, sync)]);
    return exitCodeOf(status.targets, opts.failOnIgnored, sync);
  }
  // Listen before reading the stored results, so an outcome recorded in between is not missed.
  const listener = await listen(api, opts.say, ResultsTable.showsProgress(io, opts.json));
  try {
    // The upload's sync flag is known only once its stored results are read; the table labels live
    // rows with it, so it is read first.
    const sync = (await api.status(opts.uuid)).upload.sync === true;
    const table = ResultsTable.for(io, opts.json, sync);
    const stored = await follow(api, listener, opts.uuid, table, opts.timeout, opts.say);
    table.finish();
    const rows = table.all;
    if (opts.json) printJson(io, { ...stored, targets: rows });
    else io.stdout.write(`${summary(rows, sync)}\n`);
    return exitCodeOf(rows, opts.failOnIgnored, sync);
  } finally {
    listener.close();
  }
}
