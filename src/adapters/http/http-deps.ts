import type { AcceptUpload } from '../../domain/accept-upload.ts';
import type { AuditQueries } from '../../ports/audit-log.ts';
import type { ClientGroup } from '../../domain/client-group.ts';
import type { ClientGroupStore, ClientRegistry } from '../../ports/client-registry.ts';
import type { Logger } from '../../ports/clock.ts';
import type { ApiAuth } from './api-auth.ts';

/** Stored per-client results of an upload (the SQLite result store in production). */
export interface UploadResults {
  targets(uuid: string): Promise<
    {
      client_id: string;
      status: string;
      message: string;
      filepath: string;
      size: number;
      updated_at: string;
    }[]
  >;
}

/** Client groups with the edits the API offers. */
export interface ClientGroupEditor extends ClientGroupStore {
  create(g: ClientGroup): Promise<boolean>;
  update(g: ClientGroup): Promise<boolean>;
  delete(id: string): Promise<boolean>;
}

/** Client credentials the API may list and change: the database's. */
export interface ClientCredentialEditor {
  /** Credential ids, sorted. */
  list(): Promise<string[]>;
  /** False when the id exists already. */
  add(id: string, password: string): Promise<boolean>;
  /** False when there was no such id. */
  remove(id: string): Promise<boolean>;
}

export interface HttpAppDeps {
  auth: ApiAuth;
  acceptUpload: AcceptUpload;
  results: UploadResults;
  audit: AuditQueries;
  clients: ClientRegistry;
  groups: ClientGroupEditor;
  /** Undefined when rportd.conf holds the client credentials (`[server] auth` / `auth_file`): they are read-only then. */
  clientAuth: ClientCredentialEditor | undefined;
  logger: Logger;
  /** `[server] enable_ws_test_endpoints`. */
  enableTestEndpoints: boolean;
}
