import { address, bool, fail, nonNegativeInt, type Table } from './server-config-values.ts';

/** `[server] file_tls_min_size`'s default, 4 MiB: see FileTlsKeys.file_tls_min_size. */
export const FILE_TLS_MIN_SIZE = 4 * 1024 * 1024;

/** The `[server]` keys of the file fetch over TLS (docs/adr/0009). */
export interface FileTlsKeys {
  /**
   * Agents fetch pushes over TLS (docs/adr/0009), on the SSH port unless file_tls_address names
   * another; false: every push by SFTP. Defaults to true on a single node, false in a cluster.
   */
  file_tls: boolean;
  /**
   * Pushes smaller than this many bytes are fetched by SFTP even where TLS is on: below it a new TLS
   * connection per push costs more CPU than SFTP's cost per byte (docs/benchmarks.md, "Fan-out").
   */
  file_tls_min_size: number;
  /** "host:port" of a separate file-fetch TLS listener; undefined = the TLS fetch, if on, is on the SSH port. */
  file_tls_address?: string;
  /** The admin's certificate and key for it (both or neither); otherwise made in data_dir. */
  file_tls_cert_file?: string;
  file_tls_key_file?: string;
}

export const FILE_TLS_KEYS = [
  'file_tls',
  'file_tls_min_size',
  'file_tls_address',
  'file_tls_cert_file',
  'file_tls_key_file',
] as const;

/** The TLS fetch's keys of `[server]` s, refusing contradictions by name; path resolves a file key. */
export function parseFileTls(
  s: Table,
  clustered: boolean,
  path: (t: Table, section: string, key: string) => string | undefined,
): FileTlsKeys {
  const keys: FileTlsKeys = {
    file_tls: bool(s, 'server', 'file_tls', s.file_tls_address !== undefined || !clustered),
    file_tls_min_size: nonNegativeInt(
      s,
      'server',
      'file_tls_min_size',
      FILE_TLS_MIN_SIZE,
      Number.MAX_SAFE_INTEGER,
    ),
    file_tls_address:
      s.file_tls_address === undefined ? undefined : address(s, 'server', 'file_tls_address', ''),
    file_tls_cert_file: path(s, 'server', 'file_tls_cert_file'),
    file_tls_key_file: path(s, 'server', 'file_tls_key_file'),
  };
  if ((keys.file_tls_cert_file === undefined) !== (keys.file_tls_key_file === undefined))
    fail('server', 'file_tls_cert_file', 'give both file_tls_cert_file and file_tls_key_file, or neither');
  if (!keys.file_tls && keys.file_tls_address !== undefined)
    fail('server', 'file_tls', 'is false but file_tls_address is set; leave one of them out');
  if (!keys.file_tls && keys.file_tls_cert_file !== undefined)
    fail(
      'server',
      'file_tls_cert_file',
      `is set but the TLS fetch is off (file_tls is false${clustered && s.file_tls === undefined ? ' by default in a cluster' : ''})`,
    );
  return keys;
}
