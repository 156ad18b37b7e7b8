import type { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import { follow, listen, type Say } from './follow.ts';
import { printJson, type CliIo } from './output.ts';
import { ResultsTable, exitCodeOf, summary } from './results-table.ts';

interface RetryOptions {
  uuid: string;
  json: boolean;
  /** Seconds to wait for the retried targets' outcomes. */
  timeout: number;
  failOnIgnored: boolean;
  say: Say;
}

/**
 * `rportcli retry <uuid>`: asks the server to push again to the targets whose outcome was error,
 * then follows them as upload does (the others keep their outcome). Returns the exit code.
 */
export async function runRetry(api: RportApiClient, opts: RetryOptions, io: CliIo): Promise<number> {
  // Listen before the retry starts: the server keeps no backlog for listeners.
  const listener = await listen(api, opts.say);
  try {
    const retried = await api.retry(opts.uuid);
    if (!opts.json)
      io.stdout.write(
        `retrying upload ${retried.uuid} on ${retried.targets.length} target${retried.targets.length === 1 ? '' : 's'}: ${retried.targets.join(', ')}\n`,
      );
    const table = ResultsTable.for(io, opts.json);
    await follow(api, listener, opts.uuid, table, opts.timeout, opts.say);
    const rows = table.all;
    const code = exitCodeOf(rows, opts.failOnIgnored);
    if (opts.json)
      printJson(io, { uuid: retried.uuid, retried: retried.targets, ok: code === 0, results: rows });
    else io.stdout.write(`${summary(rows)}\n`);
    return code;
  } finally {
    listener.close();
  }
}
