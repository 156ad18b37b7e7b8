import { expect } from 'chai';
import { ClientConfigError, parseClientConfig } from '../../../src/adapters/config/agent-config.ts';
import { parseServerConfig } from '../../../src/adapters/config/server-config.ts';
import { ConfigError } from '../../../src/adapters/config/server-config-values.ts';
import { formatFor } from '../../../src/adapters/log/logging-settings.ts';
import { parse } from 'smol-toml';

const FP = 'SHA256:' + 'a'.repeat(43);
const AGENT = `[client]\nserver = "127.0.0.1:8080"\nfingerprint = "${FP}"\nauth = "agents:pw"\nid = "web-1"\n`;

const server = (logging: string) =>
  parseServerConfig(parse(`[logging]\n${logging}`) as Record<string, unknown>, '/tmp').logging;
const agent = (logging: string) => parseClientConfig(`${AGENT}[logging]\n${logging}`, 'linux').logging!;

/** The message of what `fn` throws, checked to be of the config reader's own error class. */
function errorOf(fn: () => unknown, kind: new (...a: never[]) => Error): string {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(kind);
    return (e as Error).message;
  }
  return 'NO ERROR';
}

describe('[logging] in rportd.conf and rport.conf', () => {
  const files = [
    { name: 'rportd.conf', read: server, error: ConfigError },
    { name: 'rport.conf', read: agent, error: ClientConfigError },
  ];
  for (const f of files) {
    describe(f.name, () => {
      it('defaults to info, and leaves the format to the terminal test', () => {
        expect(f.read('')).to.deep.equal({ level: 'info' });
      });

      it('takes every pino level and both formats, in any case', () => {
        for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
          expect(f.read(`level = "${level.toUpperCase()}"`).level).to.equal(level);
        expect(f.read('format = "json"').format).to.equal('json');
        expect(f.read('level = "warn"\nformat = "Pretty"')).to.deep.equal({
          level: 'warn',
          format: 'pretty',
        });
      });

      it('takes log_level, the older name, and refuses both names at once', () => {
        expect(f.read('log_level = "debug"').level).to.equal('debug');
        expect(errorOf(() => f.read('level = "info"\nlog_level = "debug"'), f.error)).to.match(
          /\[logging\] log_level: give either level or log_level/,
        );
      });

      it('names the key of a bad value, and the value', () => {
        expect(errorOf(() => f.read('level = "loud"'), f.error)).to.match(
          /\[logging\] level: must be one of trace, debug, info, warn, error, fatal, got "loud"/,
        );
        expect(errorOf(() => f.read('format = "xml"'), f.error)).to.match(
          /\[logging\] format: must be one of json, pretty, got "xml"/,
        );
        expect(errorOf(() => f.read('level = 3'), f.error)).to.match(/\[logging\] level: .*got 3/);
      });

      it('names an unknown key', () => {
        expect(errorOf(() => f.read('log_file = "/var/log/x"'), f.error)).to.match(
          /\[logging\] log_file: unknown key.*level, format, log_level/,
        );
      });
    });
  }

  it('picks pretty on a terminal and JSON otherwise, unless the file says', () => {
    expect(formatFor({ level: 'info' }, true)).to.equal('pretty');
    expect(formatFor({ level: 'info' }, false)).to.equal('json');
    expect(formatFor({ level: 'info', format: 'json' }, true)).to.equal('json');
    expect(formatFor({ level: 'info', format: 'pretty' }, false)).to.equal('pretty');
  });
});
