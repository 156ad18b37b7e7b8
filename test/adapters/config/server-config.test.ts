import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  loadServerConfig,
  SERVER_DEFAULTS,
} from '../../../src/adapters/config/server-config.ts';

describe('rportd.conf (server config)', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'rportd-conf-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  const load = async (text: string): Promise<ReturnType<typeof loadServerConfig>> => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.conf`);
    await writeFile(file, text);
    return loadServerConfig(file);
  };
  const failsWith = async (text: string, pattern: RegExp): Promise<void> => {
    let err: unknown;
    try {
      await load(text);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.match(pattern);
  };

  it('runs on defaults without a file', () => {
    const c = loadServerConfig();
    expect(c.server.max_filepush_size).to.equal(10485760);
    expect(c.server.enable_ws_test_endpoints).to.equal(false);
    expect(c.server.address).to.equal(SERVER_DEFAULTS.address);
    expect(c.api.address).to.equal('127.0.0.1:3000');
    expect(c.server.data_dir).to.equal(join(process.cwd(), 'rportd-data'));
    expect(c.logging).to.deep.equal({ level: 'info' });
  });

  it('reads every key and resolves relative paths against the file', async () => {
    const c = await load(`
[server]
address = "127.0.0.1:0"
data_dir = "data"
max_filepush_size = 2048
enable_ws_test_endpoints = true
auth = "agent1:s3cret:with:colons"
push_timeout = 30
push_concurrency = 4
keep_alive = 5
max_concurrent_handshakes = 8
max_handshakes_per_address = 2
handshake_timeout = 7
max_failed_login = 3
ban_time = 120
[api]
address = "127.0.0.1:0"
auth = "admin:pw"
jwt_secret = "0123456789abcdef0123456789abcdef"
token_lifetime = 60
[logging]
log_level = "debug"
`);
    expect(c.server.data_dir).to.equal(join(dir, 'data'));
    expect(c.server.auth).to.deep.equal({ id: 'agent1', password: 's3cret:with:colons' });
    expect(c.server.max_filepush_size).to.equal(2048);
    expect(c.server.enable_ws_test_endpoints).to.equal(true);
    expect([
      c.server.push_timeout,
      c.server.push_concurrency,
      c.server.keep_alive,
      c.server.max_concurrent_handshakes,
      c.server.max_handshakes_per_address,
      c.server.handshake_timeout,
    ]).to.deep.equal([30, 4, 5, 8, 2, 7]);
    expect([c.server.max_failed_login, c.server.ban_time]).to.deep.equal([3, 120]);
    expect(c.api.auth).to.deep.equal({ id: 'admin', password: 'pw' });
    expect(c.api.token_lifetime).to.equal(60);
    expect(c.logging.level).to.equal('debug');
  });

  it('bad SSH login limits name the key', async () => {
    await failsWith(
      '[server]\nmax_failed_login = 0',
      /\[server\] max_failed_login: must be a positive integer/,
    );
    await failsWith('[server]\nban_time = "ten minutes"', /\[server\] ban_time: must be a positive integer/);
  });

  it('allow_special_bits: true by default, false when set, and a bad value names the key', async () => {
    expect(loadServerConfig().server.allow_special_bits).to.equal(true);
    expect((await load('[server]\nallow_special_bits = false')).server.allow_special_bits).to.equal(false);
    await failsWith(
      '[server]\nallow_special_bits = "no"',
      /\[server\] allow_special_bits: must be true or false, got "no"/,
    );
  });

  it('bad max_filepush_size names the key', () =>
    failsWith(
      '[server]\nmax_filepush_size = "abc"',
      /\[server\] max_filepush_size: must be a positive integer, got "abc"/,
    ));
  it('negative push_timeout names the key', () =>
    failsWith('[server]\npush_timeout = -1', /\[server\] push_timeout: must be a positive integer/));
  it('offline_ttl and keep_staged_for: 0 and 3600 by default, 0 allowed, negative or too long named', async () => {
    const d = await load('');
    expect([d.server.offline_ttl, d.server.keep_staged_for]).to.deep.equal([0, 3600]);
    const set = await load('[server]\noffline_ttl = 600\nkeep_staged_for = 0');
    expect([set.server.offline_ttl, set.server.keep_staged_for]).to.deep.equal([600, 0]);
    await failsWith(
      '[server]\noffline_ttl = -1',
      /\[server\] offline_ttl: must be a whole number from 0 up, got -1/,
    );
    await failsWith(
      '[server]\nkeep_staged_for = "1h"',
      /\[server\] keep_staged_for: must be a whole number from 0 up/,
    );
    await failsWith('[server]\noffline_ttl = 2592001', /\[server\] offline_ttl: must be at most 2592000/);
  });
  it('proxy_protocol_from: empty by default in [server] and [api], CIDR lists, a bad entry named', async () => {
    const d = await load('');
    expect([d.server.proxy_protocol_from, d.api.proxy_protocol_from]).to.deep.equal([[], []]);
    const c = await load(
      '[server]\nproxy_protocol_from = ["10.0.0.5", "fd00::/8"]\n[api]\nproxy_protocol_from = ["127.0.0.1"]\n',
    );
    expect(c.server.proxy_protocol_from).to.deep.equal(['10.0.0.5', 'fd00::/8']);
    expect(c.api.proxy_protocol_from).to.deep.equal(['127.0.0.1']);
    await failsWith('[api]\nproxy_protocol_from = ["haproxy"]', /\[api\] proxy_protocol_from.*"haproxy"/);
    await failsWith('[server]\nproxy_protocol_from = "10.0.0.5"', /\[server\] proxy_protocol_from/);
  });
  it('bad enable_ws_test_endpoints names the key', () =>
    failsWith(
      '[server]\nenable_ws_test_endpoints = "yes please"',
      /\[server\] enable_ws_test_endpoints: must be true or false/,
    ));
  it('bad [api] address names the key', () =>
    failsWith('[api]\naddress = "localhost"', /\[api\] address: must be "host:port"/));
  it('a misspelt key is named', () =>
    failsWith('[server]\nmax_filepush_sise = 1', /\[server\] max_filepush_sise: unknown key/));
  it('an unknown section is named', () => failsWith('[srever]\naddress = ":1"', /\[srever\]/));
  it('bad [server] auth names the key without echoing the password', async () => {
    await failsWith('[server]\nauth = "justid"', /\[server\] auth: must be "id:password"/);
    await failsWith('[api]\nauth = ":hunter2"', /^(?!.*hunter2).*\[api\] auth/s);
  });
  it('auth and auth_file together are refused', () =>
    failsWith('[server]\nauth = "a:b"\nauth_file = "f"', /\[server\] auth: give either/));
  it('a short jwt_secret names the key', () =>
    failsWith('[api]\njwt_secret = "short"', /\[api\] jwt_secret: must be at least 32/));
  it('cert_file without key_file names the missing key', () =>
    failsWith('[api]\ncert_file = "c.pem"', /\[api\] key_file: HTTPS needs both/));
  it('file_tls_address: off by default; read, resolved with its files, and bad values named', async () => {
    expect(loadServerConfig().server.file_tls_address).to.equal(undefined);
    const c = await load(
      '[server]\nfile_tls_address = "0.0.0.0:8443"\nfile_tls_cert_file = "c.pem"\nfile_tls_key_file = "k.pem"',
    );
    expect(c.server.file_tls_address).to.equal('0.0.0.0:8443');
    expect(c.server.file_tls_cert_file).to.equal(join(dir, 'c.pem'));
    await failsWith(
      '[server]\nfile_tls_address = "8443"',
      /\[server\] file_tls_address: must be "host:port"/,
    );
    await failsWith(
      '[server]\nfile_tls_address = ":8443"\nfile_tls_cert_file = "c.pem"',
      /\[server\] file_tls_cert_file: give both file_tls_cert_file and file_tls_key_file/,
    );
    await failsWith('[server]\nfile_tls_key_file = "k.pem"', /file_tls_cert_file: give both/);
    // Without file_tls_address the admin's certificate serves the TLS fetch on the SSH port.
    const same = await load('[server]\nfile_tls_cert_file = "c.pem"\nfile_tls_key_file = "k.pem"');
    expect(same.server.file_tls).to.equal(true);
    expect(same.server.file_tls_key_file).to.equal(join(dir, 'k.pem'));
    await failsWith(
      '[server]\nfile_tls = false\nfile_tls_cert_file = "c.pem"\nfile_tls_key_file = "k.pem"',
      /\[server\] file_tls_cert_file: is set but the TLS fetch is off \(file_tls is false\)/,
    );
  });
  it('file_tls: on by default on a single node, off by default in a cluster, and named when contradicted', async () => {
    expect(loadServerConfig().server.file_tls).to.equal(true);
    expect((await load('[server]\nfile_tls = false')).server.file_tls).to.equal(false);
    const db = '[cluster]\ndatabase_url = "postgres://db/rport"\n';
    const nats = '[cluster]\nnats_url = "nats://nats:4222"\n';
    expect((await load(db)).server.file_tls).to.equal(false);
    expect((await load(nats)).server.file_tls).to.equal(false);
    expect((await load(`[server]\nfile_tls = true\n${db}`)).server.file_tls).to.equal(true);
    // A separate listener set in a cluster is asked for explicitly: it stays on, as before.
    expect((await load(`[server]\nfile_tls_address = "0.0.0.0:8443"\n${db}`)).server.file_tls).to.equal(true);
    await failsWith('[server]\nfile_tls = "yes"', /\[server\] file_tls: /);
    await failsWith(
      '[server]\nfile_tls = false\nfile_tls_address = "0.0.0.0:8443"',
      /\[server\] file_tls: is false but file_tls_address is set/,
    );
    await failsWith(
      `[server]\nfile_tls_cert_file = "c.pem"\nfile_tls_key_file = "k.pem"\n${db}`,
      /\[server\] file_tls_cert_file: is set but the TLS fetch is off \(file_tls is false by default in a cluster\)/,
    );
  });
  it('file_tls_min_size: 4 MiB by default, 0 allowed (every push over TLS), anything else named', async () => {
    expect(loadServerConfig().server.file_tls_min_size).to.equal(4 * 1024 * 1024);
    expect((await load('[server]\nfile_tls_min_size = 0')).server.file_tls_min_size).to.equal(0);
    expect((await load('[server]\nfile_tls_min_size = 1048576')).server.file_tls_min_size).to.equal(1048576);
    await failsWith('[server]\nfile_tls_min_size = -1', /\[server\] file_tls_min_size: /);
    await failsWith('[server]\nfile_tls_min_size = "4M"', /\[server\] file_tls_min_size: /);
  });
  it('bad log_level names the key', () =>
    failsWith(
      '[logging]\nlog_level = "loud"',
      /\[logging\] log_level: must be one of trace, debug, info, warn, error, fatal/,
    ));
  it('invalid TOML names the file and the line', () =>
    failsWith('[server]\naddress = ', /\.conf: not valid TOML at line 2/));
  it('a missing file is named', () => {
    expect(() => loadServerConfig(join(dir, 'nope.conf'))).to.throw(ConfigError, /nope\.conf: cannot read/);
  });
});
