import type { ClientInfo } from '../../domain/client.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { ClientRegistry } from '../../ports/client-registry.ts';
import { json, sql, type PgDb } from './postgres-database.ts';

interface Row {
  id: string;
  name: string;
  hostname: string;
  os: string;
  tags: string[];
  version: string;
  file_reception: ClientInfo['fileReception'];
  connected: boolean;
}

const clientOf = (r: Row): ClientInfo => ({
  id: r.id,
  name: r.name,
  hostname: r.hostname,
  os: r.os,
  tags: r.tags,
  version: r.version,
  connected: r.connected,
  fileReception: r.file_reception,
});

const COLUMNS = 'id, name, hostname, os, tags, version, file_reception, connected';

/**
 * Known clients, shared by every node, as they last announced themselves, each with the node that
 * holds its connection (`node_id`, NULL while disconnected). A node changes only the rows it holds:
 * a client that reconnected to another node stays connected when the old node sees it go.
 */
export class PostgresClientRegistry implements ClientRegistry, ClientPresence {
  private constructor(
    private readonly db: PgDb,
    readonly nodeId: string,
  ) {}

  /**
   * The registry as node `nodeId` uses it. No connection survives a restart: the clients this node
   * held before are marked disconnected (those of other nodes are theirs to tell).
   */
  static async open(db: PgDb, nodeId: string): Promise<PostgresClientRegistry> {
    if (!nodeId) throw new Error('the client registry needs a node id');
    await sql(db, 'UPDATE clients SET connected = false, node_id = NULL WHERE node_id = $1', [nodeId]);
    return new PostgresClientRegistry(db, nodeId);
  }

  async get(id: string): Promise<ClientInfo | undefined> {
    const { rows } = await sql<Row>(this.db, `SELECT ${COLUMNS} FROM clients WHERE id = $1`, [id]);
    return rows[0] && clientOf(rows[0]);
  }

  async list(): Promise<ClientInfo[]> {
    const { rows } = await sql<Row>(this.db, `SELECT ${COLUMNS} FROM clients ORDER BY id COLLATE "C"`);
    return rows.map(clientOf);
  }

  /** The node holding the client's connection; undefined when it is not connected (or unknown). */
  async nodeOf(id: string): Promise<string | undefined> {
    const { rows } = await sql<{ node_id: string | null }>(
      this.db,
      'SELECT node_id FROM clients WHERE id = $1 AND connected',
      [id],
    );
    return rows[0]?.node_id ?? undefined;
  }

  async announce(info: Omit<ClientInfo, 'connected'>): Promise<void> {
    await sql(
      this.db,
      `INSERT INTO clients (id, name, hostname, os, tags, version, file_reception, connected, node_id, last_seen)
         VALUES ($1, $2, $3, $4, $5::json, $6, $7::json, true, $8, now())
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, hostname = excluded.hostname, os = excluded.os,
           tags = excluded.tags, version = excluded.version, file_reception = excluded.file_reception,
           connected = true, node_id = excluded.node_id, last_seen = excluded.last_seen`,
      [
        info.id,
        info.name,
        info.hostname,
        info.os,
        json(info.tags),
        info.version,
        json(info.fileReception),
        this.nodeId,
      ],
    );
  }

  async disconnected(id: string): Promise<void> {
    await sql(
      this.db,
      'UPDATE clients SET connected = false, node_id = NULL, last_seen = now() WHERE id = $1 AND node_id = $2',
      [id, this.nodeId],
    );
  }
}
