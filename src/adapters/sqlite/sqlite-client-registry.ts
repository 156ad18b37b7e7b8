import type { ClientInfo } from '../../domain/client.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { ClientRegistry } from '../../ports/client-registry.ts';
import { statement, type SqliteDb } from './sqlite-database.ts';

interface Row {
  id: string;
  name: string;
  hostname: string;
  os: string;
  tags: string;
  version: string;
  file_reception: string;
  connected: number;
}

const clientOf = (r: Row): ClientInfo => ({
  id: r.id,
  name: r.name,
  hostname: r.hostname,
  os: r.os,
  tags: JSON.parse(r.tags) as string[],
  version: r.version,
  connected: r.connected === 1,
  fileReception: JSON.parse(r.file_reception) as ClientInfo['fileReception'],
});

/**
 * Known clients persist across restarts as they last announced themselves; `connected` is reset
 * when the registry opens, since no connection survives a restart.
 */
export class SqliteClientRegistry implements ClientRegistry, ClientPresence {
  constructor(private readonly db: SqliteDb) {
    db.prepare('UPDATE clients SET connected = 0').run();
  }

  async get(id: string): Promise<ClientInfo | undefined> {
    const row = statement(this.db, 'SELECT * FROM clients WHERE id = ?').get(id) as Row | undefined;
    return row && clientOf(row);
  }

  async list(): Promise<ClientInfo[]> {
    return (statement(this.db, 'SELECT * FROM clients ORDER BY id').all() as Row[]).map(clientOf);
  }

  async announce(info: Omit<ClientInfo, 'connected'>): Promise<void> {
    statement(
      this.db,
      `INSERT INTO clients (id, name, hostname, os, tags, version, file_reception, connected, last_seen)
         VALUES (@id, @name, @hostname, @os, @tags, @version, @file_reception, 1, @now)
         ON CONFLICT(id) DO UPDATE SET name = @name, hostname = @hostname, os = @os, tags = @tags,
           version = @version, file_reception = @file_reception, connected = 1, last_seen = @now`,
    ).run({
      id: info.id,
      name: info.name,
      hostname: info.hostname,
      os: info.os,
      tags: JSON.stringify(info.tags),
      version: info.version,
      file_reception: JSON.stringify(info.fileReception),
      now: new Date().toISOString(),
    });
  }

  async disconnected(id: string): Promise<void> {
    statement(this.db, 'UPDATE clients SET connected = 0, last_seen = ? WHERE id = ?').run(
      new Date().toISOString(),
      id,
    );
  }
}
