import { Container, ContainerModule } from 'inversify';
import type { AcceptResult } from '../../domain/accept-upload.ts';
import type { Caller } from '../../domain/caller.ts';
import type { ClientGroup } from '../../domain/client-group.ts';
import type { DispatchSettings } from '../../domain/dispatch-to-clients.ts';
import type { FormPart, UploadForm } from '../../ports/upload-form.ts';
import { InMemoryAuditLog } from '../../adapters/memory/in-memory-audit-log.ts';
import { InMemoryClientChannels } from '../../adapters/memory/in-memory-client-channels.ts';
import { InMemoryClientGroupStore } from '../../adapters/memory/in-memory-client-group-store.ts';
import { InMemoryClientRegistry } from '../../adapters/memory/in-memory-client-registry.ts';
import { InMemoryDeliveryQueue } from '../../adapters/memory/in-memory-delivery-queue.ts';
import { InMemoryUploadArchive } from '../../adapters/memory/in-memory-upload-archive.ts';
import { ServeOnConnect } from '../../domain/serve-on-connect.ts';
import { InMemoryLiveTransfers } from '../../adapters/memory/in-memory-live-transfers.ts';
import { InMemoryResultBroadcaster } from '../../adapters/memory/in-memory-result-broadcaster.ts';
import { InMemoryResultStore } from '../../adapters/memory/in-memory-result-store.ts';
import { InMemoryStagingStore } from '../../adapters/memory/in-memory-staging-store.ts';
import { ManualClock } from '../../adapters/memory/manual-clock.ts';
import { MemoryLogger } from '../../adapters/memory/memory-logger.ts';
import { SequentialIdGenerator } from '../../adapters/memory/sequential-id-generator.ts';
import { constant, provide, provideRecord, resolve } from '../shared/typed-wiring.ts';
import { useCaseModule } from '../shared/use-case-wiring.ts';
import { buildAgent, planAgents, SIM_DEST_DIR, SIM_VALIDATOR, type SimulatedAgent } from './agents.ts';
import { SeededRandom } from './prng.ts';
import { comeBack, queueFigures } from './reconnects.ts';
import { inspect, type SimulationReport } from './inspect.ts';

export type { SimulationReport } from './inspect.ts';
import { S } from './tokens.ts';

interface SimulationOptions {
  agents: number;
  seed: number;
  fileSize?: number;
  chunkSize?: number;
  dispatch?: Partial<DispatchSettings>;
  /** The push's offline_ttl, seconds: when over 0, offline and dropped agents come back later (seeded) and are served. */
  offlineTtl?: number;
}

const SIM_ADMIN: Caller = { username: 'sim-admin', admin: true, groups: ['Administrators'] };
const ALL_AGENTS: ClientGroup = {
  id: 'all-agents',
  description: 'every simulated agent',
  params: { client_id: ['agent-*'] },
  allowed_user_groups: [],
};

/** The time, ids and logging of one run: virtual and seeded, so the run repeats. */
const infraModule = (seed: number) =>
  new ContainerModule(({ bind }) => {
    provide(bind, S.clock, [], () => new ManualClock());
    provide(bind, S.ids, [], () => new SequentialIdGenerator(seed));
    provide(bind, S.logger, [], () => new MemoryLogger());
  });

/** The server's stores and the in-memory network, each a stateful fake. */
const storesModule = new ContainerModule(({ bind }) => {
  provide(bind, S.staging, [], () => new InMemoryStagingStore());
  provide(bind, S.registry, [], () => new InMemoryClientRegistry());
  provide(bind, S.groups, [], () => new InMemoryClientGroupStore([ALL_AGENTS]));
  provide(bind, S.results, [], () => new InMemoryResultStore());
  provide(bind, S.broadcaster, [], () => new InMemoryResultBroadcaster());
  provide(bind, S.audit, [], () => new InMemoryAuditLog());
  provide(bind, S.channels, [], () => new InMemoryClientChannels());
  provide(bind, S.transfers, [], () => new InMemoryLiveTransfers());
  provide(bind, S.queue, [], () => new InMemoryDeliveryQueue());
  provide(bind, S.archive, [], () => new InMemoryUploadArchive());
  provide(
    bind,
    S.presence,
    [S.registry, S.offline, S.clock, S.logger],
    (registry, offline, clock, logger) => new ServeOnConnect(registry, offline, clock, logger),
  );
});

/** The run's limits, and the record it takes from the graph. */
const serverModule = (settings: DispatchSettings, maxBytes: number) =>
  new ContainerModule(({ bind }) => {
    constant(bind, S.dispatchSettings, settings);
    constant(bind, S.maxUploadBytes, maxBytes);
    // Removed at the end, as with keep_staged_for = 0: the run checks that no staged file is left.
    constant(bind, S.keepStagedMs, 0);
    constant(bind, S.fieldRules, { allowSpecialBits: true });
    provideRecord(bind, S.server, {
      clock: S.clock,
      staging: S.staging,
      registry: S.registry,
      channels: S.channels,
      transfers: S.transfers,
      results: S.results,
      broadcaster: S.broadcaster,
      audit: S.audit,
      accept: S.accept,
      presence: S.presence,
      queue: S.queue,
      offline: S.offline,
      retention: S.retention,
    });
  });

function uploadForm(content: Uint8Array, chunkSize: number, offlineTtl: number): UploadForm {
  const fields: [string, string][] = [
    ...(offlineTtl > 0 ? ([['offline_ttl', String(offlineTtl)]] as [string, string][]) : []),
    ['group_id', ALL_AGENTS.id],
    ['dest', `${SIM_DEST_DIR}/config.bin`],
    ['sync', 'true'],
    ['mode', '0640'],
    ['user', 'app'],
    ['group', 'app'],
    ['validate', SIM_VALIDATOR],
    ['backup', 'true'],
  ];
  return {
    async *parts(): AsyncIterable<FormPart> {
      for (const [name, value] of fields) yield { kind: 'field', name, value };
      yield {
        kind: 'file',
        name: 'upload',
        filename: 'config.bin',
        content: (async function* () {
          for (let i = 0; i < content.byteLength; i += chunkSize) yield content.subarray(i, i + chunkSize);
        })(),
      };
    },
  };
}

/** Runs one push from one server to N simulated agents, faults drawn from the seed, in virtual time. */
export async function runSimulation(opts: SimulationOptions): Promise<SimulationReport> {
  const fileSize = opts.fileSize ?? 48 * 1024;
  const chunkSize = opts.chunkSize ?? 8 * 1024;
  const random = new SeededRandom(opts.seed);
  const content = random.bytes(fileSize);
  const old = random.bytes(fileSize / 2);
  const settings: DispatchSettings = { concurrency: 16, timeoutMs: 30_000, ...opts.dispatch };

  const container = new Container({ defaultScope: 'Singleton' });
  container.load(
    infraModule(opts.seed),
    storesModule,
    useCaseModule({ ...S, progress: S.broadcaster }),
    serverModule(settings, 10 * 1024 * 1024),
  );
  const server = resolve(container, S.server);
  const { clock, staging, registry, channels, transfers } = server;
  const destination = `${SIM_DEST_DIR}/config.bin`;

  const agents: SimulatedAgent[] = planAgents(opts.agents, fileSize, random).map((plan) =>
    buildAgent(plan, {
      clock,
      transfers,
      readStaged: (n) => staging.read(n),
      chunkSize,
      previousBytes: { same: content, old },
      destination,
    }),
  );
  for (const a of agents) {
    await registry.announce({
      id: a.plan.id,
      name: a.plan.id,
      hostname: `${a.plan.id}.sim`,
      os: 'linux',
      tags: [],
      version: 'sim',
      fileReception: { enabled: true, protected: [] },
    });
    if (a.plan.fault === 'offline') await registry.disconnected(a.plan.id);
    else channels.connect(a.plan.id, a.channel);
  }

  const began = clock.now();
  const accepted: AcceptResult = await clock.run(
    server.accept.execute(SIM_ADMIN, uploadForm(content, chunkSize, opts.offlineTtl ?? 0)),
  );
  if (!accepted.ok) throw new Error(`the simulated upload was rejected: ${accepted.rejection.detail}`);
  // Drive virtual time until the server has every outcome and every agent has finished its own work.
  await clock.run(accepted.distributed.then(() => Promise.all(agents.map((a) => a.channel.idle()))));
  const queued = (await server.queue.all()).length;
  const cameBack =
    queued > 0
      ? await comeBack(agents, server, random, { began, offlineTtl: opts.offlineTtl ?? 0 })
      : new Map();
  server.offline.close();
  server.retention.close();

  const report = inspect(opts.seed, accepted.upload.staged.uuid, agents, server, { content, destination });
  for (const row of report.rows) row.cameBackAfter = cameBack.get(row.clientId);
  report.queue = queueFigures(report.rows, queued);
  return report;
}
