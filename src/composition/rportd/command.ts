import { Command } from 'commander';
import { ConfigError, loadServerConfig } from '../../adapters/config/server-config.ts';
import { startServer } from './start.ts';

/** `rportd [--config rportd.conf]`: serve until SIGTERM/SIGINT, then shut down cleanly. */
export async function runServerCommand(argv: string[]): Promise<void> {
  const opts = new Command('rportd')
    .description('rportd: the rport server (upload API, agent listener, distribution, results, audit log)')
    .option('-c, --config <path>', 'path to rportd.conf (without it, every key takes its default)')
    .parse(argv)
    .opts<{ config?: string }>();
  let server;
  try {
    server = await startServer(loadServerConfig(opts.config));
  } catch (e) {
    process.stderr.write(`rportd: ${(e as Error).message}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
  if (server.initialAdmin) {
    // Shown once on the terminal, never through the logger: the hash is all that is kept.
    process.stderr.write(
      `\nrportd: first start, created API user "${server.initialAdmin.username}" with password:\n\n    ${server.initialAdmin.password}\n\n` +
        'It is shown only this once. Log in with POST /api/v1/login and keep it safe.\n\n',
    );
  }
  const stop = (signal: string): void => {
    process.stderr.write(`rportd: ${signal}, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`rportd: shutdown failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
