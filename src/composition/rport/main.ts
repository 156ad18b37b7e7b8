import { Command, CommanderError } from 'commander';
import { dirname, resolve } from 'node:path';
import { configPermissionWarning, loadClientConfig } from '../../adapters/config/agent-config.ts';
import { openLogger } from '../../adapters/log/pino-logger.ts';
import { warnIfNoCryptoBinding } from '../../adapters/ssh/ssh-algorithms.ts';
import { packageVersion } from '../shared/package-version.ts';
import { buildClient } from './container.ts';
import { prepareDataDir, startFailed } from './start-errors.ts';

/** `rport --config rport.conf`: connect, announce, receive pushes until SIGTERM/SIGINT. */
async function main(argv: string[]): Promise<void> {
  const command = new Command('rport')
    .description('rport agent: keeps one SSH connection to rportd and receives pushed files')
    .version(packageVersion())
    .option('-c, --config <path>', 'path to rport.conf', 'rport.conf')
    .exitOverride();
  try {
    command.parse(argv);
  } catch (e) {
    // Commander has said what was wrong; a usage error exits 2 like any other start error.
    process.exit(e instanceof CommanderError && e.exitCode === 0 ? 0 : 2);
  }
  const opts = command.opts<{ config: string }>();
  let config = await loadClientConfig(opts.config);
  const logger = await openLogger('rport', config.logging ?? { level: 'info' });
  // A fault nobody caught ends the agent: say so in its log, where the sysadmin looks, not only on stderr.
  process.once('uncaughtException', (e) => {
    logger.error({ reason: e.message, stack: e.stack }, 'rport stopped: an unexpected error');
    process.exit(1);
  });
  const configPath = resolve(opts.config);
  const tooOpen = await configPermissionWarning(configPath);
  if (tooOpen) logger.warn({ config: configPath }, `rport.conf ${tooOpen}`);
  // A relative data_dir is taken from the config file's directory, as rportd does with its own.
  config = { ...config, dataDir: resolve(dirname(configPath), config.dataDir) };
  await prepareDataDir(config.dataDir);
  warnIfNoCryptoBinding(logger);
  // An agent key in data_dir that cannot be read or made names its file; startFailed exits 2.
  const connection = await buildClient(config, logger);
  connection.start();
  const stop = (signal: NodeJS.Signals, reason: string): void => {
    logger.info({ signal, reason }, 'rport shutting down');
    void connection.stop().then(() => {
      logger.info({ signal }, 'rport stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM', 'asked to stop (service manager or kill)'));
  process.once('SIGINT', () => stop('SIGINT', 'interrupted (Ctrl-C)'));
}

// Only the start can reject: once connected, the connection handles its own errors.
await main(process.argv).catch(startFailed);
