import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { tightenMode } from '../fs/tighten-mode.ts';

export type SqliteDb = Database.Database;

/** Each entry moves the schema one version up; append only, never edit a shipped step. */
const MIGRATIONS: string[] = [
  `CREATE TABLE api_users (
     username TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE api_user_groups (
     username TEXT NOT NULL REFERENCES api_users(username) ON DELETE CASCADE,
     group_name TEXT NOT NULL,
     PRIMARY KEY (username, group_name)
   );
   CREATE TABLE client_groups (
     id TEXT PRIMARY KEY,
     description TEXT NOT NULL DEFAULT '',
     params TEXT NOT NULL,
     allowed_user_groups TEXT NOT NULL
   );
   CREATE TABLE clients (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     hostname TEXT NOT NULL,
     os TEXT NOT NULL,
     tags TEXT NOT NULL,
     version TEXT NOT NULL,
     file_reception TEXT NOT NULL,
     connected INTEGER NOT NULL DEFAULT 0,
     last_seen TEXT NOT NULL
   );
   CREATE TABLE client_credentials (
     id TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL
   );
   CREATE TABLE upload_results (
     uuid TEXT NOT NULL,
     client_id TEXT NOT NULL,
     status TEXT NOT NULL,
     message TEXT NOT NULL DEFAULT '',
     filepath TEXT NOT NULL DEFAULT '',
     size INTEGER NOT NULL DEFAULT 0,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (uuid, client_id)
   );
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     timestamp TEXT NOT NULL,
     application TEXT NOT NULL,
     action TEXT NOT NULL,
     username TEXT NOT NULL,
     client_id TEXT,
     upload_uuid TEXT,
     request TEXT NOT NULL
   );
   CREATE INDEX audit_log_timestamp ON audit_log(timestamp);
   CREATE INDEX audit_log_upload ON audit_log(upload_uuid);
   CREATE INDEX audit_log_client ON audit_log(client_id);`,
  // The users API: a stamp per user that each token carries (a new one ends the user's sessions),
  // and openrport's per-group permission flags.
  `ALTER TABLE api_users ADD COLUMN session_stamp TEXT NOT NULL DEFAULT '';
   CREATE TABLE user_group_details (
     name TEXT PRIMARY KEY,
     permissions TEXT NOT NULL
   );`,
  // Issue 17 item 5: the agent key each client id belongs to, bound at its first registration.
  `CREATE TABLE client_keys (
     client_id TEXT PRIMARY KEY,
     public_key TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     bound_at TEXT NOT NULL
   );`,
  // Whether a push changed the file on the host: NULL while pending, and for results stored before.
  `ALTER TABLE upload_results ADD COLUMN changed INTEGER;`,
  // Offline delivery and retry: attempts per target, the uploads kept for later pushes, the queue.
  `ALTER TABLE upload_results ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
   CREATE TABLE kept_uploads (
     uuid TEXT PRIMARY KEY,
     upload TEXT NOT NULL,
     staged INTEGER NOT NULL DEFAULT 1,
     keep_until TEXT
   );
   CREATE TABLE delivery_queue (
     uuid TEXT NOT NULL,
     client_id TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     PRIMARY KEY (uuid, client_id)
   );
   CREATE INDEX delivery_queue_client ON delivery_queue(client_id);`,
  // Issue 20 item 4: the diff a push asked for (or why there is none); NULL when none was asked for.
  `ALTER TABLE upload_results ADD COLUMN diff TEXT;`,
  // Issue 20 item 6: the backup a push kept of the file it replaced; NULL when none was kept.
  `ALTER TABLE upload_results ADD COLUMN backup TEXT;`,
];

const DATABASE_FILE = 'rportd.db';

const prepared = new WeakMap<SqliteDb, Map<string, Database.Statement>>();

/**
 * The prepared statement for this SQL on this database, prepared once and then reused. Preparing a
 * statement on every call was a visible share of rportd's event loop in a fan-out to 1000 agents
 * (docs/benchmarks.md, "Fan-out"). For fixed SQL only: each distinct string is kept for the database's life.
 */
export function statement(db: SqliteDb, sql: string): Database.Statement {
  let cache = prepared.get(db);
  if (!cache) prepared.set(db, (cache = new Map()));
  let st = cache.get(sql);
  if (!st) cache.set(sql, (st = db.prepare(sql)));
  return st;
}

/**
 * Opens (creating if needed) `{dataDir}/rportd.db` and brings its schema up to date. It holds
 * password hashes and the audit log: the file is made 0600 before SQLite opens it (SQLite gives its
 * -wal and -shm files the database's mode), in a data_dir of 0700. Files and a folder an older
 * version left more open are tightened.
 */
export function openSqliteDatabase(dataDir: string): SqliteDb {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  tightenMode(dataDir, 0o700);
  const path = join(dataDir, DATABASE_FILE);
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) tightenMode(file, 0o600);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // WAL's recommended setting: a commit is not fsynced on its own (better-sqlite3 runs on the event loop,
  // so each fsync stalled every agent's traffic, three commits a push: docs/benchmarks.md, "Fan-out");
  // the WAL is synced at checkpoints. A process crash loses nothing; a power cut may lose the last
  // commits, never the file.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: SqliteDb): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `rportd.db has schema version ${current}, newer than this rportd knows (${MIGRATIONS.length}); upgrade rportd`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
