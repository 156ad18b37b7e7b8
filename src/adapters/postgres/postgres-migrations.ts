import type pg from 'pg';

/**
 * Each entry moves the schema one version up; append only, never edit a shipped step. The first
 * step is SQLite's schema as it stands (rportd.db's steps 1-4 folded into one), in PostgreSQL's
 * types: times as timestamptz, JSON as json (which, unlike jsonb, keeps a \u0000 in a string).
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE api_users (
     username text PRIMARY KEY,
     password_hash text NOT NULL,
     created_at timestamptz NOT NULL,
     session_stamp text NOT NULL
   );
   CREATE TABLE api_user_groups (
     username text NOT NULL REFERENCES api_users(username) ON DELETE CASCADE,
     group_name text NOT NULL,
     PRIMARY KEY (username, group_name)
   );
   CREATE INDEX api_user_groups_group ON api_user_groups(group_name);
   CREATE TABLE user_group_details (
     name text PRIMARY KEY,
     permissions json NOT NULL
   );
   CREATE TABLE client_groups (
     id text PRIMARY KEY,
     description text NOT NULL DEFAULT '',
     params json NOT NULL,
     allowed_user_groups json NOT NULL
   );
   CREATE TABLE clients (
     id text PRIMARY KEY,
     name text NOT NULL,
     hostname text NOT NULL,
     os text NOT NULL,
     tags json NOT NULL,
     version text NOT NULL,
     file_reception json NOT NULL,
     connected boolean NOT NULL DEFAULT false,
     node_id text,
     last_seen timestamptz NOT NULL
   );
   CREATE INDEX clients_node ON clients(node_id);
   CREATE TABLE client_credentials (
     id text PRIMARY KEY,
     password_hash text NOT NULL
   );
   CREATE TABLE client_keys (
     client_id text PRIMARY KEY,
     public_key text NOT NULL,
     fingerprint text NOT NULL,
     bound_at timestamptz NOT NULL
   );
   CREATE TABLE uploads (
     uuid text PRIMARY KEY,
     begun_at timestamptz NOT NULL
   );
   CREATE TABLE upload_results (
     uuid text NOT NULL,
     client_id text NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'success', 'ignored', 'error')),
     message text NOT NULL DEFAULT '',
     filepath text NOT NULL DEFAULT '',
     size bigint NOT NULL DEFAULT 0,
     changed boolean,
     updated_at timestamptz NOT NULL,
     PRIMARY KEY (uuid, client_id)
   );
   CREATE INDEX upload_results_pending ON upload_results(updated_at) WHERE status = 'pending';
   CREATE INDEX upload_results_client ON upload_results(client_id);
   CREATE TABLE audit_log (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     timestamp timestamptz NOT NULL,
     application text NOT NULL,
     action text NOT NULL,
     username text NOT NULL,
     client_id text,
     upload_uuid text,
     request json NOT NULL
   );
   CREATE INDEX audit_log_timestamp ON audit_log(timestamp);
   CREATE INDEX audit_log_upload ON audit_log(upload_uuid);
   CREATE INDEX audit_log_client ON audit_log(client_id);`,
  // Offline delivery and retry: the attempt of each target (the queue and kept uploads came later,
  // in step 3).
  `ALTER TABLE upload_results ADD COLUMN attempt integer NOT NULL DEFAULT 1;`,
  // The offline queue and the kept uploads, shared by the nodes. `seq` is the order (SQLite's
  // rowid); a queued target carries the claim of the node pushing it, a lease on the database's
  // clock; a kept upload names the node whose staging folder holds its file.
  `CREATE TABLE kept_uploads (
     seq bigint GENERATED ALWAYS AS IDENTITY,
     uuid text PRIMARY KEY,
     upload json NOT NULL,
     node_id text NOT NULL,
     staged boolean NOT NULL DEFAULT true,
     keep_until timestamptz
   );
   CREATE INDEX kept_uploads_staged ON kept_uploads(node_id, seq) WHERE staged;
   CREATE TABLE delivery_queue (
     seq bigint GENERATED ALWAYS AS IDENTITY,
     uuid text NOT NULL,
     client_id text NOT NULL,
     expires_at timestamptz NOT NULL,
     claimed_by text,
     claimed_until timestamptz,
     PRIMARY KEY (uuid, client_id)
   );
   CREATE INDEX delivery_queue_client ON delivery_queue(client_id, seq);`,
  // Check mode and diffs: the diff a push asked for (or why there is none); NULL when none was asked for.
  `ALTER TABLE upload_results ADD COLUMN diff text;`,
  // The node pushing each pending target (it began or reopened it): at its start a node ends only
  // its own stranded targets, never those another running node is pushing.
  `ALTER TABLE upload_results ADD COLUMN IF NOT EXISTS node_id text;`,
  // Backups per push: the backup a push kept of the file it replaced; NULL when none was kept.
  `ALTER TABLE upload_results ADD COLUMN backup text;`,
  // Routing: the node that recorded a target's final outcome, which is the node that pushed it (a
  // target routed to another node is ended there); NULL while pending.
  `ALTER TABLE upload_results ADD COLUMN pushed_by text;`,
  // Failover: each node's heartbeat, on the database's clock. A node whose heartbeat lapsed loses
  // its claims at once, and the survivors take over its pending targets (found by the index).
  `CREATE TABLE nodes (
     node_id text PRIMARY KEY,
     heartbeat_at timestamptz NOT NULL
   );
   CREATE INDEX upload_results_pending_node ON upload_results(node_id) WHERE status = 'pending';`,
];

/**
 * The key of the transaction-scoped advisory lock every migrator takes first: of nodes starting at
 * once, one migrates and the others wait, then find the schema current. ('rport' in ASCII.)
 */
export const MIGRATION_LOCK = 0x72706f7274;

/**
 * Brings the schema up to `steps.length`, all in one transaction under the advisory lock: a step
 * that fails leaves the schema as it was. Returns the versions it applied.
 */
export async function migrate(pool: pg.Pool, steps: readonly string[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS rport_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)',
      );
      const { rows } = await client.query<{ v: number }>(
        'SELECT COALESCE(MAX(version), 0)::integer AS v FROM rport_schema',
      );
      const current = rows[0].v;
      if (current > steps.length) {
        throw new Error(
          `the PostgreSQL database has schema version ${current}, newer than this rportd knows (${steps.length}); upgrade rportd`,
        );
      }
      const applied: number[] = [];
      for (let v = current; v < steps.length; v++) {
        try {
          await client.query(steps[v]);
        } catch (e) {
          throw new Error(`PostgreSQL schema step ${v + 1} failed: ${(e as Error).message}`, { cause: e });
        }
        await client.query('INSERT INTO rport_schema (version, applied_at) VALUES ($1, now())', [v + 1]);
        applied.push(v + 1);
      }
      await client.query('COMMIT');
      return applied;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    client.release();
  }
}
