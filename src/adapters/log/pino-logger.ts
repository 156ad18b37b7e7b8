import { pino, type Logger as Pino } from 'pino';
import type { Logger } from '../../ports/logger.ts';
import { redactFields, redactText } from './redact-secrets.ts';

interface PinoLoggerOptions {
  level: 'debug' | 'info' | 'warn' | 'error';
  /** Where JSON lines go; stdout by default. */
  destination?: NodeJS.WritableStream;
}

/** The Logger port as JSON lines through pino; passwords, tokens and secrets are masked before they are written. */
export class PinoLogger implements Logger {
  private readonly pino: Pino;

  constructor(opts: PinoLoggerOptions) {
    this.pino = pino(
      {
        level: opts.level,
        base: { name: 'rportd' },
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

  private write(
    level: 'debug' | 'info' | 'warn' | 'error',
    fields: Record<string, unknown>,
    message: string,
  ): void {
    if (!this.pino.isLevelEnabled(level)) return;
    this.pino[level](redactFields(fields) as Record<string, unknown>, redactText(message));
  }
}
