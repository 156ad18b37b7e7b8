// The simulation's one token table: the server's bindings (one container per run) and each
// simulated agent's (one container per agent), each token typed with what it is bound to.
import type { AcceptUpload } from '../../domain/accept-upload.ts';
import type { ApplyOwnership } from '../../domain/apply-ownership.ts';
import type { DispatchSettings, DispatchToClients } from '../../domain/dispatch-to-clients.ts';
import type { FieldRules } from '../../domain/upload-fields.ts';
import type { ReceiveFile, ReceptionSettings } from '../../domain/receive-file.ts';
import type { OfflineDelivery } from '../../domain/offline-delivery.ts';
import type { ReportResult } from '../../domain/report-result.ts';
import type { RetryPush } from '../../domain/retry-push.ts';
import type { StagedRetention } from '../../domain/staged-retention.ts';
import type { ClientPresence } from '../../ports/client-presence.ts';
import type { InMemoryDeliveryQueue } from '../../adapters/memory/in-memory-delivery-queue.ts';
import type { InMemoryUploadArchive } from '../../adapters/memory/in-memory-upload-archive.ts';
import type { FileSource } from '../../ports/file-source.ts';
import type { IdGenerator } from '../../ports/id-generator.ts';
import type { Logger } from '../../ports/logger.ts';
import type { Clock } from '../../ports/clock.ts';
import type { PrivilegedFiles } from '../../ports/privileged-files.ts';
import type { ValidatorRunner } from '../../ports/validator-runner.ts';
import type { InMemoryAuditLog } from '../../adapters/memory/in-memory-audit-log.ts';
import type {
  InMemoryClientChannel,
  InMemoryClientChannels,
} from '../../adapters/memory/in-memory-client-channels.ts';
import type { InMemoryClientGroupStore } from '../../adapters/memory/in-memory-client-group-store.ts';
import type { InMemoryClientRegistry } from '../../adapters/memory/in-memory-client-registry.ts';
import type { InMemoryLink } from '../../adapters/memory/in-memory-link.ts';
import type { InMemoryLiveTransfers } from '../../adapters/memory/in-memory-live-transfers.ts';
import type { InMemoryResultBroadcaster } from '../../adapters/memory/in-memory-result-broadcaster.ts';
import type { InMemoryResultStore } from '../../adapters/memory/in-memory-result-store.ts';
import type { InMemoryStagingStore } from '../../adapters/memory/in-memory-staging-store.ts';
import type { ManualClock } from '../../adapters/memory/manual-clock.ts';
import type { MemoryLocalFiles } from '../../adapters/memory/memory-local-files.ts';
import { token } from '../shared/typed-wiring.ts';

/** The server's parts a run drives and then inspects, taken from its graph in one piece. */
export interface SimulatedServer {
  clock: ManualClock;
  staging: InMemoryStagingStore;
  registry: InMemoryClientRegistry;
  channels: InMemoryClientChannels;
  transfers: InMemoryLiveTransfers;
  results: InMemoryResultStore;
  broadcaster: InMemoryResultBroadcaster;
  audit: InMemoryAuditLog;
  accept: AcceptUpload;
  /** Where a reconnecting agent announces itself: it is then served its queued targets. */
  presence: ClientPresence;
  queue: InMemoryDeliveryQueue;
  offline: OfflineDelivery;
  retention: StagedRetention;
}

/** One agent's parts the run connects and then inspects, taken from its graph in one piece. */
interface AgentParts {
  files: MemoryLocalFiles;
  link: InMemoryLink;
  channel: InMemoryClientChannel;
}

export const S = {
  // The server.
  clock: token<ManualClock>('Clock'),
  ids: token<IdGenerator>('IdGenerator'),
  logger: token<Logger>('Logger'),
  staging: token<InMemoryStagingStore>('StagingStore'),
  registry: token<InMemoryClientRegistry>('ClientRegistry'),
  groups: token<InMemoryClientGroupStore>('ClientGroupStore'),
  results: token<InMemoryResultStore>('ResultStore'),
  broadcaster: token<InMemoryResultBroadcaster>('ResultBroadcaster'),
  audit: token<InMemoryAuditLog>('AuditLog'),
  channels: token<InMemoryClientChannels>('ClientChannels'),
  transfers: token<InMemoryLiveTransfers>('LiveTransfers'),
  dispatchSettings: token<DispatchSettings>('DispatchSettings'),
  maxUploadBytes: token<number>('MaxUploadBytes'),
  fieldRules: token<FieldRules>('FieldRules'),
  report: token<ReportResult>('ReportResult'),
  dispatch: token<DispatchToClients>('DispatchToClients'),
  accept: token<AcceptUpload>('AcceptUpload'),
  queue: token<InMemoryDeliveryQueue>('DeliveryQueue'),
  archive: token<InMemoryUploadArchive>('UploadArchive'),
  keepStagedMs: token<number>('KeepStagedMs'),
  retention: token<StagedRetention>('StagedRetention'),
  offline: token<OfflineDelivery>('OfflineDelivery'),
  retry: token<RetryPush>('RetryPush'),
  presence: token<ClientPresence>('ClientPresence'),
  server: token<SimulatedServer>('SimulatedServer'),
  // One agent.
  agentFiles: token<MemoryLocalFiles>('MemoryLocalFiles'),
  privileged: token<PrivilegedFiles>('PrivilegedFiles'),
  source: token<FileSource>('FileSource'),
  receptionSettings: token<ReceptionSettings>('ReceptionSettings'),
  agentClock: token<Clock>('AgentClock'),
  ownership: token<ApplyOwnership>('ApplyOwnership'),
  receive: token<ReceiveFile>('ReceiveFile'),
  validatorRunner: token<ValidatorRunner>('ValidatorRunner'),
  link: token<InMemoryLink>('InMemoryLink'),
  agentChannel: token<InMemoryClientChannel>('InMemoryClientChannel'),
  agent: token<AgentParts>('AgentParts'),
};
