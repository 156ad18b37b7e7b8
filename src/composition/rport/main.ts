import { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import pino from 'pino';
import {
  ClientConfigError,
  configPermissionWarning,
  loadClientConfig,
} from '../../adapters/config/agent-config.ts';
import { warnIfNoCryptoBinding } from '../../adapters/ssh/ssh-algorithms.ts';
import { packageVersion } from '../shared/package-version.ts';
import { buildClient } from './container.ts';

/** `rport --config rport.conf`: connect, announce, receive pushes until SIGTERM/SIGINT. */
async function main(argv: string[]): Promise<void> {
  const opts = new Command('rport')
    .description('rport agent: keeps one SSH connection to rportd and receives pushed files')
    .version(packageVersion())
    .option('-c, --config <path>', 'path to rport.conf', 'rport.conf')
    .parse(argv)
    .opts<{ config: string }>();
  const logger = pino({ name: 'rport' });
  let config;
  try {
    config = await loadClientConfig(opts.config);
  } catch (e) {
    if (e instanceof ClientConfigError) {
      process.stderr.write(`rport: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const configPath = resolve(opts.config);
  const tooOpen = await configPermissionWarning(configPath);
  if (tooOpen) logger.warn({ config: configPath }, `rport.conf ${tooOpen}`);
  // A relative data_dir is taken from the config file's directory, as rportd does with its own.
  config = { ...config, dataDir: resolve(dirname(configPath), config.dataDir) };
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  warnIfNoCryptoBinding(logger);
  let connection;
  try {
    connection = await buildClient(config, logger);
  } catch (e) {
    // e.g. an agent key in data_dir that cannot be read or made: the message names the file.
    process.stderr.write(`rport: ${(e as Error).message}\n`);
    process.exit(1);
  }
  connection.start();
  const stop = (): void => void connection.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

await main(process.argv);
