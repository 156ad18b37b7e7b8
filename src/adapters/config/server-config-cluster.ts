/** `[cluster]` of rportd.conf: what makes a node a member of a cluster (docs/scale-out.md). */
import { hostname } from 'node:os';
import { fail, rejectUnknown, str, type Table } from './server-config-values.ts';

export interface ClusterSection {
  /** This node's name in the shared database (the clients it holds, the targets it pushes). */
  node_id: string;
  /** postgres://…: every store on PostgreSQL instead of SQLite in data_dir; undefined = SQLite. */
  database_url?: string;
  /** nats://… (one URL, or several separated by commas): outcomes and progress across nodes. */
  nats_url?: string;
}

export const CLUSTER_KEYS = ['node_id', 'database_url', 'nats_url'] as const;

/** Letters, digits and . _ - (any hostname fits), so that a node id reads the same in logs and SQL. */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * The URL with its password masked: a value rportd.conf holds a password in is never repeated
 * whole in an error (an error goes to the terminal and to logs).
 */
export function maskedUrl(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return JSON.stringify(value);
  try {
    const u = new URL(value);
    if (u.password && value.includes('//')) {
      u.password = '***';
      return JSON.stringify(u.toString());
    }
  } catch {
    // not a URL: masked below
  }
  // No clear user:password@ shape: all that comes before the "@" may be the secret.
  const slashes = value.indexOf('//');
  const start = slashes >= 0 && slashes < at ? slashes + 2 : 0;
  return JSON.stringify(`${value.slice(0, start)}***${value.slice(at)}`);
}

/** One URL with one of `schemes` (e.g. ['postgres:']), and a host when `needsHost`. */
function checkUrl(section: string, key: string, value: string, schemes: string[], needsHost: boolean): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return fail(section, key, `must be a URL, e.g. ${schemes[0]}//host, got ${maskedUrl(value)}`);
  }
  if (!schemes.includes(u.protocol))
    return fail(
      section,
      key,
      `must start with ${schemes.map((s) => `${s}//`).join(' or ')}, got ${maskedUrl(value)}`,
    );
  if (needsHost && u.hostname === '') fail(section, key, `names no host: ${maskedUrl(value)}`);
}

/** Validates `[cluster]`; the node id defaults to this machine's hostname. */
export function parseCluster(t: Table, defaultNodeId: string = hostname()): ClusterSection {
  rejectUnknown(t, 'cluster', CLUSTER_KEYS);
  const node_id = str(t, 'cluster', 'node_id', defaultNodeId);
  if (!NODE_ID.test(node_id))
    fail(
      'cluster',
      'node_id',
      `must be 1-253 letters, digits, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(node_id)}` +
        (t.node_id === undefined ? ' (the hostname, its default: set node_id)' : ''),
    );
  const database_url = nonEmpty(t, 'database_url');
  // A socket-directory URL (postgres:///rport?host=/run/postgresql) has no host: pg accepts it.
  if (database_url !== undefined)
    checkUrl('cluster', 'database_url', database_url, ['postgres:', 'postgresql:'], false);
  const nats_url = nonEmpty(t, 'nats_url');
  if (nats_url !== undefined) {
    for (const one of nats_url.split(','))
      checkUrl('cluster', 'nats_url', one.trim(), ['nats:', 'tls:', 'ws:', 'wss:'], true);
  }
  return { node_id, database_url, nats_url };
}

/** A string key that, when given, is not blank; the value itself is not shown (it may hold a password). */
function nonEmpty(t: Table, key: string): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return fail('cluster', key, `must be a string (a URL), got a ${typeof v}`);
  if (v.trim() === '') return fail('cluster', key, 'must not be empty (leave the key out instead)');
  return v.trim();
}
