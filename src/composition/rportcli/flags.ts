export { packageVersion } from '../shared/package-version.ts';
import type { Command } from 'commander';
import { CliError } from './errors.ts';

/** Adds the options every command shares: where the server is, how to trust it, and (unless login) who we are. */
export function withConnection(cmd: Command, credentials = true): Command {
  cmd
    .option(
      '--url <url>',
      'rportd API URL (default: $RPORT_API_URL, the saved login, or http://127.0.0.1:3000)',
    )
    .option(
      '--cacert <file>',
      "PEM file of the CA to trust for https, instead of the system's (default: $RPORT_API_CACERT)",
    )
    .option('--insecure', "do not check the server's TLS certificate (for tests only; warns)", false);
  if (credentials) {
    cmd
      .option('--token <token>', 'API token (default: $RPORT_API_TOKEN or the saved login)')
      .option('--api-user <name>', 'API user, with --api-password (default: $RPORT_API_USER)')
      .option('--api-password <password>', 'API password (default: $RPORT_API_PASSWORD)');
  }
  return cmd
    .option('--json', 'print machine-readable JSON on stdout', false)
    .option('-v, --verbose', "print rportcli's own diagnostic lines on stderr", false);
}

export const collect = (value: string, previous: string[]): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
];

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(`--timeout "${value}" is not a positive number of seconds`);
  return n;
}
