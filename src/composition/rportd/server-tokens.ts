// rportd's token table and what start-up takes from the graph: apart from container.ts so that
// the binding files can name the tokens without importing the container.
import type Koa from 'koa';
import type { ServerConfig } from '../../adapters/config/server-config.ts';
import type { FsStagingStore } from '../../adapters/fs/fs-staging-store.ts';
import { ApiAuth } from '../../adapters/http/api-auth.ts';
import type { SqliteDb } from '../../adapters/sqlite/sqlite-database.ts';
import { WsResultBroadcaster } from '../../adapters/ws/ws-result-broadcaster.ts';
import type { NatsHealth } from '../../adapters/nats/nats-health.ts';
import type { LocalBroadcaster, NatsOutcomeRelay } from '../../adapters/nats/nats-outcome-relay.ts';
import type { AcceptUpload } from '../../domain/accept-upload.ts';
import { ClientIdentity } from '../../domain/client-identity.ts';
import type { DispatchSettings, DispatchToClients } from '../../domain/dispatch-to-clients.ts';
import { EndStrandedPushes } from '../../domain/end-stranded-pushes.ts';
import type { OfflineDelivery } from '../../domain/offline-delivery.ts';
import type { ReportResult } from '../../domain/report-result.ts';
import type { RetryPush } from '../../domain/retry-push.ts';
import type { StagedRetention } from '../../domain/staged-retention.ts';
import type { DatabaseHealth } from '../../ports/database-health.ts';
import type { StagingStore } from '../../ports/staging-store.ts';
import type { DeliveryQueue, UploadArchive } from '../../ports/delivery-queue.ts';
import type { ApiUserDirectory } from '../../ports/api-user-directory.ts';
import type { ClientCredentials } from '../../ports/client-credentials.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { Clock } from '../../ports/clock.ts';
import type { IdGenerator } from '../../ports/id-generator.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import type { ResultBroadcaster } from '../../ports/result-broadcaster.ts';
import type { Logger } from '../../ports/logger.ts';
import { token } from '../shared/typed-wiring.ts';
import type { FieldRules } from '../../domain/upload-fields.ts';
import { LateClientChannels, LateCredentialSessions } from './late-bindings.ts';
import {
  type DbApiUsers,
  type DbAuditLog,
  type DbClientCredentials,
  type DbClientGroups,
  type DbClientKeys,
  type DbClientRegistry,
  type DbResults,
  type DbUserGroups,
} from './store-bindings.ts';

/** What rportd's start-up takes from the graph, in one piece. */
export interface Rportd {
  db: SqliteDb;
  staging: FsStagingStore;
  apiUsers: DbApiUsers;
  /** Run at start, before the API and the agents' side open. */
  endStranded: EndStrandedPushes;
  /** Run at start after endStranded, in this order: the queue takes its holds, then the kept files. */
  offline: OfflineDelivery;
  /** Outcomes of targets a cluster node takes over from a node that stopped. */
  report: ReportResult;
  retention: StagedRetention;
  app: Koa;
  auth: ApiAuth;
  broadcaster: WsResultBroadcaster;
  /** With `[cluster] nats_url`: outcomes and progress to and from the other nodes, and NATS's health. */
  relay: NatsOutcomeRelay | undefined;
  natsHealth: NatsHealth | undefined;
  presence: ClientPresence;
  identity: ClientIdentity;
  credentials: ClientCredentials;
  transfers: LiveTransfers;
  /** Pointed at the agents' side once it runs (the use cases are built before it). */
  channels: LateClientChannels;
  sessions: LateCredentialSessions;
}

/** rportd's token table: one token per binding, typed with what it is bound to. */
export const T = {
  config: token<ServerConfig>('ServerConfig'),
  logger: token<Logger>('Logger'),
  clock: token<Clock>('Clock'),
  ids: token<IdGenerator>('IdGenerator'),
  db: token<SqliteDb>('SqliteDb'),
  staging: token<FsStagingStore>('StagingStore'),
  /** What the use cases stage with: the local store, or on a cluster node one that also publishes. */
  useCaseStaging: token<StagingStore>('UseCaseStagingStore'),
  users: token<ApiUserDirectory>('ApiUserDirectory'),
  dbUsers: token<DbApiUsers>('DbApiUsers'),
  userGroups: token<DbUserGroups>('UserGroups'),
  registry: token<DbClientRegistry>('ClientRegistry'),
  groups: token<DbClientGroups>('ClientGroupStore'),
  credentials: token<ClientCredentials>('ClientCredentials'),
  /** The database's client credentials (SQLite or PostgreSQL), editable through the API. */
  dbCredentials: token<DbClientCredentials>('DbClientCredentials'),
  clientKeys: token<DbClientKeys>('ClientKeys'),
  identity: token<ClientIdentity>('ClientIdentity'),
  results: token<DbResults>('ResultStore'),
  audit: token<DbAuditLog>('AuditLog'),
  broadcaster: token<WsResultBroadcaster>('ResultBroadcaster'),
  natsHealth: token<NatsHealth | undefined>('NatsHealth'),
  relay: token<NatsOutcomeRelay | undefined>('NatsOutcomeRelay'),
  /** Where outcomes and progress go: the local listeners, and with NATS the other nodes' too. */
  events: token<LocalBroadcaster>('ClusterEvents'),
  /** What the use cases publish to: the broadcaster behind a line in the log per outcome. */
  outcomes: token<ResultBroadcaster>('LoggedOutcomes'),
  transfers: token<LiveTransfers>('LiveTransfers'),
  channels: token<LateClientChannels>('ClientChannels'),
  sessions: token<LateCredentialSessions>('CredentialSessions'),
  dispatchSettings: token<DispatchSettings>('DispatchSettings'),
  maxUploadBytes: token<number>('MaxUploadBytes'),
  fieldRules: token<FieldRules>('FieldRules'),
  report: token<ReportResult>('ReportResult'),
  dispatch: token<DispatchToClients>('DispatchToClients'),
  accept: token<AcceptUpload>('AcceptUpload'),
  endStranded: token<EndStrandedPushes>('EndStrandedPushes'),
  queue: token<DeliveryQueue>('DeliveryQueue'),
  archive: token<UploadArchive>('UploadArchive'),
  /** Whether the database answers: GET /api/v1/health, and uploads refused while it does not. */
  dbHealth: token<DatabaseHealth>('DatabaseHealth'),
  keepStagedMs: token<number>('KeepStagedMs'),
  retention: token<StagedRetention>('StagedRetention'),
  offline: token<OfflineDelivery>('OfflineDelivery'),
  retry: token<RetryPush>('RetryPush'),
  presence: token<ClientPresence>('ClientPresence'),
  auth: token<ApiAuth>('ApiAuth'),
  app: token<Koa>('KoaApp'),
  rportd: token<Rportd>('Rportd'),
};
