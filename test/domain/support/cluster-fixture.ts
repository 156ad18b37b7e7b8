import { PublishingStagingStore } from '../../../src/adapters/nats/publishing-staging-store.ts';
import { InMemoryAuditLog } from '../../../src/adapters/memory/in-memory-audit-log.ts';
import { InMemoryClientChannels } from '../../../src/adapters/memory/in-memory-client-channels.ts';
import { InMemoryClientGroupStore } from '../../../src/adapters/memory/in-memory-client-group-store.ts';
import { InMemoryClientRegistry } from '../../../src/adapters/memory/in-memory-client-registry.ts';
import { InMemoryDeliveryQueue } from '../../../src/adapters/memory/in-memory-delivery-queue.ts';
import { InMemoryLiveTransfers } from '../../../src/adapters/memory/in-memory-live-transfers.ts';
import { InMemoryResultBroadcaster } from '../../../src/adapters/memory/in-memory-result-broadcaster.ts';
import { InMemoryResultStore } from '../../../src/adapters/memory/in-memory-result-store.ts';
import {
  InMemorySharedBucket,
  InMemorySharedStagedFiles,
} from '../../../src/adapters/memory/in-memory-shared-staged-files.ts';
import { InMemoryStagingStore } from '../../../src/adapters/memory/in-memory-staging-store.ts';
import { InMemoryUploadArchive } from '../../../src/adapters/memory/in-memory-upload-archive.ts';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.ts';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';
import { SequentialIdGenerator } from '../../../src/adapters/memory/sequential-id-generator.ts';
import { AcceptUpload } from '../../../src/domain/accept-upload.ts';
import type { AcceptedUpload } from '../../../src/domain/accepted-upload.ts';
import { DispatchToClients } from '../../../src/domain/dispatch-to-clients.ts';
import { OfflineDelivery } from '../../../src/domain/offline-delivery.ts';
import { stagedName } from '../../../src/domain/push-request.ts';
import { PushToClient } from '../../../src/domain/push-to-client.ts';
import { ReportResult } from '../../../src/domain/report-result.ts';
import { ServeOnConnect } from '../../../src/domain/serve-on-connect.ts';
import { SharedCopies } from '../../../src/domain/shared-copies.ts';
import { StagedRetention } from '../../../src/domain/staged-retention.ts';
import type { ClientChannel } from '../../../src/ports/client-channel.ts';
import type { KeptUpload, UploadArchive } from '../../../src/ports/delivery-queue.ts';
import { client } from './server-fixture.ts';

/** What the nodes of one fake cluster share: the database's stores, the bucket, and who holds each client. */
export class SharedState {
  readonly clock = new ManualClock();
  readonly results = new InMemoryResultStore();
  readonly audit = new InMemoryAuditLog();
  readonly queue = new InMemoryDeliveryQueue();
  readonly archive = new InMemoryUploadArchive();
  readonly registry = new InMemoryClientRegistry(['c1', 'c2', 'c3', 'c4'].map((id) => client(id)));
  readonly bucket = new InMemorySharedBucket();
  /** The node holding each connected client (clients.node_id). */
  readonly placement = new Map<string, string>();
  readonly nodes = new Map<string, { offline: OfflineDelivery }>();
  /** Wake-ups sent; while `dropWakeUps`, they are lost on the way. */
  readonly wakeUps: [string, string][] = [];
  dropWakeUps = false;

  async anyOpen(uuid: string): Promise<boolean> {
    return this.results.pending(uuid).length > 0 || (await this.queue.all()).some((t) => t.uuid === uuid);
  }
}

/** The kept uploads as one node sees them: the staged file is only on the node that accepted it. */
class NodeArchive implements UploadArchive {
  private static readonly owners = new WeakMap<InMemoryUploadArchive, Map<string, string>>();
  private readonly owner: Map<string, string>;

  constructor(
    private readonly inner: InMemoryUploadArchive,
    private readonly node: string,
  ) {
    let m = NodeArchive.owners.get(inner);
    if (!m) NodeArchive.owners.set(inner, (m = new Map()));
    this.owner = m;
  }
  async save(upload: AcceptedUpload): Promise<void> {
    if (!this.owner.has(upload.staged.uuid)) this.owner.set(upload.staged.uuid, this.node);
    await this.inner.save(upload);
  }
  async find(uuid: string): Promise<KeptUpload | undefined> {
    const k = await this.inner.find(uuid);
    return k && { ...k, staged: k.staged && this.mine(uuid) };
  }
  async keepUntil(uuid: string, until: Date): Promise<void> {
    if (this.mine(uuid)) await this.inner.keepUntil(uuid, until);
  }
  async stagedRemoved(uuid: string): Promise<void> {
    if (this.mine(uuid)) await this.inner.stagedRemoved(uuid);
  }
  async withStagedFiles(): Promise<{ uuid: string; keepUntil?: Date }[]> {
    return (await this.inner.withStagedFiles()).filter((k) => this.mine(k.uuid));
  }
  private mine(uuid: string): boolean {
    return this.owner.get(uuid) === this.node;
  }
}

/** One rportd node of the fake cluster, wired as rportd wires a node with `[cluster] nats_url`. */
export function makeClusterNode(name: string, s: SharedState, timeoutMs = 30_000) {
  const local = new InMemoryStagingStore();
  const shared = new InMemorySharedStagedFiles(s.bucket, local);
  const staging = new PublishingStagingStore(
    local,
    shared,
    (uuid) =>
      (async function* () {
        yield local.read(stagedName(uuid))!;
      })(),
    (uuid) => s.anyOpen(uuid),
  );
  const channels = new InMemoryClientChannels();
  const transfers = new InMemoryLiveTransfers();
  const logger = new MemoryLogger();
  const broadcaster = new InMemoryResultBroadcaster();
  const archive = new NodeArchive(s.archive, name);
  const report = new ReportResult(s.results, broadcaster, s.audit, s.clock);
  const retention = new StagedRetention(staging, archive, s.clock, logger, 0);
  const pusher = new PushToClient(channels, transfers, s.clock, timeoutMs);
  const routing = {
    otherNodeOf: async (id: string) => {
      const node = s.placement.get(id);
      return node === name ? undefined : node;
    },
    wake: async (node: string, id: string) => {
      s.wakeUps.push([node, id]);
      if (!s.dropWakeUps) void s.nodes.get(node)!.offline.serveHere(id);
    },
  };
  const copies = new SharedCopies(shared, local, { anyOpen: (uuid) => s.anyOpen(uuid) }, logger);
  const offline = new OfflineDelivery(
    s.queue,
    archive,
    s.results,
    report,
    retention,
    pusher,
    s.clock,
    logger,
    {
      routing,
      copies,
    },
  );
  const dispatch = new DispatchToClients(
    channels,
    transfers,
    staging,
    report,
    s.clock,
    logger,
    { concurrency: 4, timeoutMs },
    { archive, retention, offline },
  );
  const accept = new AcceptUpload(
    staging,
    s.registry,
    new InMemoryClientGroupStore([]),
    s.results,
    s.audit,
    dispatch,
    new SequentialIdGenerator(1 + s.nodes.size * 1000),
    s.clock,
    1024,
  );
  const presence = new ServeOnConnect(s.registry, offline, s.clock, logger);
  const node = {
    name,
    local,
    shared,
    channels,
    logger,
    offline,
    accept,
    archive,
    report,
    routing,
    /** The client connects to this node: its channel is up, the registry says so, its queue is served. */
    async connect(id: string, channel: ClientChannel): Promise<void> {
      channels.connect(id, channel);
      s.placement.set(id, name);
      // Its queue is served a timer's turn after the announce: run that turn now.
      await s.clock.run(presence.announce(client(id)).then(() => s.clock.sleep(1)));
    },
    close(): void {
      offline.close();
      retention.close();
    },
  };
  s.nodes.set(name, node);
  return node;
}

export type ClusterNode = ReturnType<typeof makeClusterNode>;
