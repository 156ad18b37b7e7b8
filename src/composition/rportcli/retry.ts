import { Option, type Command } from 'commander';
import type { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import type { Connection } from './config.ts';
import { positiveNumber, withConnection } from './flags.ts';
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
    table.finish();
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

interface Flags {
  json?: boolean;
  verbose?: boolean;
  timeout: number;
  failOnIgnored: boolean;
}

/** What the retry command takes from the program: a connected API client, where to write, the exit code. */
export interface RetryCommandContext {
  io: CliIo;
  connect(flags: Flags): Promise<[RportApiClient, Connection]>;
  say(flags: Flags): Say;
  /** Seconds --timeout defaults to, as for upload and status --wait. */
  defaultTimeout: number;
  exit(code: number): void;
}

/** `rportcli retry <uuid> [--timeout s] [--fail-on-ignored]` (docs/cli.md). */
export function addRetryCommand(program: Command, x: RetryCommandContext): void {
  withConnection(
    program
      .command('retry')
      .description('push an upload again to its targets whose outcome was error, and show the new outcomes')
      .argument('<uuid>', 'the uuid the upload answered with')
      .option('--fail-on-ignored', 'exit 1 when a target ignored the push (its file differs)', false)
      .addOption(
        new Option('--timeout <seconds>', 'how long to wait for the retried outcomes')
          .default(x.defaultTimeout)
          .argParser(positiveNumber),
      ),
  ).action(async (uuid: string, flags: Flags) => {
    const [api] = await x.connect(flags);
    const opts = {
      uuid,
      json: flags.json ?? false,
      timeout: flags.timeout,
      failOnIgnored: flags.failOnIgnored,
      say: x.say(flags),
    };
    x.exit(await runRetry(api, opts, x.io));
  });
}
