/** What the HTTP API is built from: the use case it drives, the ports it reads, and its own auth. */
import type { AcceptUpload } from '../../domain/accept-upload.ts';
import type { ClientIdentity } from '../../domain/client-identity.ts';
import type { RetryPush } from '../../domain/retry-push.ts';
import type { ApiUserAdmin, UserGroupAdmin } from '../../ports/api-user-admin.ts';
import type { AuditQueries } from '../../ports/audit-log.ts';
import type { ClientRegistry } from '../../ports/client-registry.ts';
import type { ClientGroupEditor } from '../../ports/client-group-store.ts';
import type { ClientCredentialEditor } from '../../ports/client-credentials.ts';
import type { UploadResults } from '../../ports/result-store.ts';
import type { Logger } from '../../ports/logger.ts';
import type { DatabaseHealth } from '../../ports/database-health.ts';
import type { MessageBusHealth } from '../../ports/message-bus-health.ts';
import type { ApiAuth } from './api-auth.ts';

export interface HttpAppDeps {
  auth: ApiAuth;
  acceptUpload: AcceptUpload;
  /** POST /api/v1/files/:uuid/retry; the route is absent without it. */
  retryPush?: RetryPush;
  results: UploadResults;
  audit: AuditQueries;
  clients: ClientRegistry;
  groups: ClientGroupEditor;
  /** Undefined when rportd.conf holds the client credentials (`[server] auth` / `auth_file`): they are read-only then. */
  clientAuth: ClientCredentialEditor | undefined;
  /** The database's users and user groups; undefined with rportd.conf's static `[api] auth`. */
  userAdmin?: { users: ApiUserAdmin; groups: UserGroupAdmin };
  /** The binding of client ids to agent keys: read and released by admins. */
  identity: ClientIdentity;
  logger: Logger;
  /** `[server] enable_ws_test_endpoints`. */
  enableTestEndpoints: boolean;
  /** GET /api/v1/health; uploads are refused while the database (or NATS, when set) does not answer. */
  health: { nodeId: string; database: DatabaseHealth; nats?: MessageBusHealth };
}
