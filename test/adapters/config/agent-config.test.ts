import { expect } from 'chai';
import { DEFAULT_PROTECTED_POSIX, DEFAULT_PROTECTED_WINDOWS } from '../../../src/domain/protected-paths.ts';
import {
  ClientConfigError,
  loadClientConfig,
  parseClientConfig,
} from '../../../src/adapters/config/agent-config.ts';

const FP = 'SHA256:' + 'a'.repeat(43);
const base = `[client]\nserver = "127.0.0.1:8080"\nfingerprint = "${FP}"\nauth = "agents:s3cret:with:colons"\nid = "web-1"\n`;

const errorOf = (text: string): string => {
  try {
    parseClientConfig(text, 'linux');
  } catch (e) {
    expect(e).to.be.instanceOf(ClientConfigError);
    return (e as Error).message;
  }
  return 'NO ERROR';
};

describe('rport.conf (client config)', () => {
  it('parses a minimal config with defaults', () => {
    const c = parseClientConfig(base, 'linux');
    expect(c).to.deep.include({
      servers: ['127.0.0.1:8080'],
      fingerprint: FP,
      credentialId: 'agents',
      password: 's3cret:with:colons',
      id: 'web-1',
      dataDir: '/var/lib/rport',
    });
    expect(c.fileReception).to.deep.equal({
      enabled: true,
      protected: DEFAULT_PROTECTED_POSIX,
      backup: false,
      allowSpecialBits: false,
      validators: {},
      validateTimeoutMs: 30_000,
      backupKeep: 3,
      diff: { enabled: true, maxSize: 65536 },
    });
    expect(c.hashThread, 'md5 on its own thread is opt-in').to.equal(false);
    expect(parseClientConfig(base, 'win32').fileReception.protected).to.deep.equal(DEFAULT_PROTECTED_WINDOWS);
  });

  it('reads every key, including a WebSocket server and [file-reception]', () => {
    const c = parseClientConfig(
      base.replace('127.0.0.1:8080', 'ws://proxy.example:80/agents') +
        'name = "Web one"\ntags = ["web", "eu"]\ndata_dir = "/tmp/rport"\n[file-reception]\nenabled = false\nprotected = ["/etc"]\nbackup = true\nhash_thread = true\nallow_special_bits = true\ndiff = false\nmax_diff_size = 1000\n',
      'linux',
    );
    expect(c).to.deep.include({
      servers: ['ws://proxy.example:80/agents'],
      name: 'Web one',
      tags: ['web', 'eu'],
      dataDir: '/tmp/rport',
    });
    expect(c.fileReception).to.deep.equal({
      enabled: false,
      protected: ['/etc'],
      backup: true,
      allowSpecialBits: true,
      validators: {},
      validateTimeoutMs: 30_000,
      backupKeep: 3,
      diff: { enabled: false, maxSize: 1000 },
    });
    expect(c.hashThread).to.equal(true);
  });

  it('reads [file-reception.validators], validate_timeout and backup_keep', () => {
    const c = parseClientConfig(
      base +
        '[file-reception]\nvalidate_timeout = 2.5\nbackup_keep = 5\n' +
        '[file-reception.validators]\nnginx = ["/usr/sbin/nginx", "-t", "-c", "%s"]\n' +
        'sshd = ["/usr/sbin/sshd", "-t", "-f%s"]\n',
      'linux',
    );
    expect(c.fileReception).to.deep.include({
      validators: {
        nginx: ['/usr/sbin/nginx', '-t', '-c', '%s'],
        sshd: ['/usr/sbin/sshd', '-t', '-f%s'],
      },
      validateTimeoutMs: 2500,
      backupKeep: 5,
    });
  });

  it('reads a list of servers in its order, TCP and WebSocket forms mixed', () => {
    const list = '["rportd-1:2222", "[::1]:2222", "wss://rportd-3.example/api/v1/ws/agents"]';
    const c = parseClientConfig(base.replace('"127.0.0.1:8080"', list), 'linux');
    expect(c.servers).to.deep.equal([
      'rportd-1:2222',
      '[::1]:2222',
      'wss://rportd-3.example/api/v1/ws/agents',
    ]);
  });

  const servers = (list: string): string => base.replace('"127.0.0.1:8080"', list);
  const badServers: [string, string, string][] = [
    ['a bad element', servers('["rportd-1:2222", "rportd-2"]'), '[client] server[1]: "rportd-2" must be'],
    ['a port out of range', servers('["rportd-1:2222", "a:2", "b:70000"]'), '[client] server[2]: "b:70000"'],
    ['a number in the list', servers('["rportd-1:2222", 2222]'), '[client] server[1]: must be a string'],
    ['a duplicate', servers('["a:1", "b:2", "a:1"]'), '[client] server[2]: "a:1" is already server[0]'],
    ['an empty list', servers('[]'), '[client] server: must not be an empty list'],
    ['a number', servers('2222'), '[client] server: must be a string'],
    ['a bad WebSocket URL', servers('["ws://"]'), '[client] server[0]: "ws://" must be'],
  ];
  for (const [what, text, message] of badServers) {
    it(`bad server list: ${what} is an error naming the element`, () => {
      expect(errorOf(text)).to.include(`rport.conf ${message}`);
    });
  }

  const bad: [string, string, string][] = [
    ['missing fingerprint', base.replace(/fingerprint.*\n/, ''), '[client] fingerprint'],
    ['malformed fingerprint', base.replace(FP, 'MD5:aa'), '[client] fingerprint'],
    ['missing server', base.replace(/server.*\n/, ''), '[client] server'],
    ['server without port', base.replace('127.0.0.1:8080', 'example.com'), '[client] server'],
    ['auth without password', base.replace('agents:s3cret:with:colons', 'agents'), '[client] auth'],
    ['id with spaces', base.replace('web-1', 'web 1'), '[client] id'],
    ['tags not a list', base + 'tags = "web"\n', '[client] tags'],
    ['enabled not a boolean', base + '[file-reception]\nenabled = "yes"\n', '[file-reception] enabled'],
    ['protected not a list', base + '[file-reception]\nprotected = "/etc"\n', '[file-reception] protected'],
    [
      'hash_thread not a boolean',
      base + '[file-reception]\nhash_thread = 1\n',
      '[file-reception] hash_thread',
    ],
    [
      'allow_special_bits not a boolean',
      base + '[file-reception]\nallow_special_bits = "yes"\n',
      '[file-reception] allow_special_bits',
    ],
    [
      'a validator as a shell string',
      base + '[file-reception.validators]\nnginx = "/usr/sbin/nginx -t -c %s"\n',
      '[file-reception.validators] nginx',
    ],
    [
      'a validator without %s',
      base + '[file-reception.validators]\nnginx = ["/usr/sbin/nginx", "-t"]\n',
      '[file-reception.validators] nginx',
    ],
    [
      'a validator with %s twice',
      base + '[file-reception.validators]\nsh = ["/bin/sh", "-c", "cat %s", "sh", "%s"]\n',
      '[file-reception.validators] sh',
    ],
    [
      'a validator with a relative program',
      base + '[file-reception.validators]\nnginx = ["nginx", "-t", "-c", "%s"]\n',
      '[file-reception.validators] nginx',
    ],
    [
      'a validator name of another shape',
      base + '[file-reception.validators]\n"-rf" = ["/bin/true", "%s"]\n',
      '[file-reception.validators] -rf',
    ],
    [
      'validate_timeout of 0',
      base + '[file-reception]\nvalidate_timeout = 0\n',
      '[file-reception] validate_timeout',
    ],
    ['backup_keep of 0', base + '[file-reception]\nbackup_keep = 0\n', '[file-reception] backup_keep'],
    ['backup_keep not whole', base + '[file-reception]\nbackup_keep = 2.5\n', '[file-reception] backup_keep'],
    ['diff not a boolean', base + '[file-reception]\ndiff = "no"\n', '[file-reception] diff'],
    [
      'max_diff_size over 256 KiB',
      base + '[file-reception]\nmax_diff_size = 262145\n',
      '[file-reception] max_diff_size',
    ],
    [
      'max_diff_size not a number',
      base + '[file-reception]\nmax_diff_size = "64k"\n',
      '[file-reception] max_diff_size',
    ],
    ['unknown key', base + 'colour = "red"\n', '[client] colour'],
    ['unknown section', base + '[server]\nx = 1\n', '[server]'],
    ['broken TOML', '[client\n', '(syntax)'],
  ];
  for (const [what, text, key] of bad) {
    it(`bad value: ${what} is an error naming ${key}`, () => {
      expect(errorOf(text)).to.include(`rport.conf ${key}`);
    });
  }

  it('bad value: a missing file is an error naming the path', async () => {
    const e = await loadClientConfig('/nonexistent/rport.conf').then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).to.include('/nonexistent/rport.conf');
  });
});
