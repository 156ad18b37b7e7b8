import { pino, type Logger as Pino } from 'pino';
import type { Logger } from '../../ports/logger.ts';
import { formatFor, type LogLevel, type LoggingSettings } from './logging-settings.ts';
import { redactFields, redactText } from './redact-secrets.ts';

type Level = 'debug' | 'info' | 'warn' | 'error';

interface PinoLoggerOptions {
  level: LogLevel;
  /** The program, in every line's `name`. */
  name?: string;
  /** Where lines go; stdout by default. A pino-pretty stream for the pretty format. */
  destination?: NodeJS.WritableStream;
}

/**
 * The Logger port through pino: ISO 8601 times and level names, so a line reads the same in a
 * journal and in a log shipper. Passwords, tokens and secrets are masked before they are written.
 */
export class PinoLogger implements Logger {
  private readonly pino: Pino;

  constructor(opts: PinoLoggerOptions) {
    this.pino = pino(
      {
        level: opts.level,
        base: { name: opts.name ?? 'rportd' },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        // pino's own redaction as a second net for the usual top-level names.
        redact: {
          paths: [
            'password',
            'token',
            'authorization',
            'secret',
            'jwt_secret',
            'access_token',
            '*.password',
            '*.token',
            '*.authorization',
          ],
          censor: '[redacted]',
        },
      },
      opts.destination ?? process.stdout,
    );
  }

  debug(fields: Record<string, unknown>, message: string): void {
    this.write('debug', fields, message);
  }
  info(fields: Record<string, unknown>, message: string): void {
    this.write('info', fields, message);
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.write('warn', fields, message);
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.write('error', fields, message);
  }

  private write(level: Level, fields: Record<string, unknown>, message: string): void {
    if (!this.pino.isLevelEnabled(level)) return;
    this.pino[level](redactFields(fields) as Record<string, unknown>, redactText(message));
  }
}

/**
 * The logger a program runs with, per its `[logging]` section. pino-pretty runs in this process as
 * a stream, not in a worker thread: the agent is one bundled file with no worker script beside it.
 * It is loaded only for the pretty format, so an agent writing JSON never pays for it.
 */
export async function openLogger(
  name: string,
  settings: LoggingSettings,
  destination: NodeJS.WritableStream = process.stdout,
): Promise<PinoLogger> {
  if (formatFor(settings) === 'json') return new PinoLogger({ name, level: settings.level, destination });
  const { default: pretty } = await import('pino-pretty');
  const stream = pretty({
    destination,
    sync: true,
    colorize: (destination as { isTTY?: boolean }).isTTY === true,
    translateTime: 'SYS:standard',
  });
  return new PinoLogger({ name, level: settings.level, destination: stream });
}
