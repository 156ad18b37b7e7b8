import { Container, ContainerModule } from 'inversify';
import { ProtectedPaths } from '../../domain/protected-paths.ts';
import type { Clock } from '../../ports/clock.ts';
import type { LiveTransfers } from '../../ports/live-transfers.ts';
import {
  InMemoryClientChannel,
  type ChannelFaults,
} from '../../adapters/memory/in-memory-client-channels.ts';
import { InMemoryFileSource, type FileSourceFaults } from '../../adapters/memory/in-memory-file-source.ts';
import { InMemoryLink } from '../../adapters/memory/in-memory-link.ts';
import { MemoryLocalFiles } from '../../adapters/memory/memory-local-files.ts';
import { MemoryPrivilegedFiles } from '../../adapters/memory/memory-privileged-files.ts';
import { InMemoryValidatorRunner } from '../../adapters/memory/in-memory-validator-runner.ts';
import { receptionModule } from '../shared/reception-wiring.ts';
import { constant, provide, provideRecord, resolve } from '../shared/typed-wiring.ts';
import type { SeededRandom } from './prng.ts';
import { S } from './tokens.ts';

const AGENT_DATA_DIR = '/var/lib/rport';
const AGENT_UID = 1001;
export const APP_UID = 2000;
export const SIM_DEST_DIR = '/srv/app';
/** The validator each simulated agent names; the upload asks for it. */
export const SIM_VALIDATOR = 'config-check';

export type AgentFault =
  'none' | 'offline' | 'silent' | 'disconnect' | 'eperm-chown' | 'corrupt' | 'slow' | 'validator-fails';
export type PreviousContent = 'absent' | 'same' | 'old';

/** What the seed decided for one agent. */
interface AgentPlan {
  id: string;
  fault: AgentFault;
  previous: PreviousContent;
  /** slow: virtual ms per chunk; disconnect: bytes before the drop. */
  delayPerChunkMs?: number;
  disconnectAfterBytes?: number;
}

const FAULT_WEIGHTS: Record<AgentFault, number> = {
  none: 50,
  offline: 6,
  silent: 4,
  disconnect: 10,
  'eperm-chown': 10,
  corrupt: 10,
  slow: 10,
  'validator-fails': 6,
};
const PREVIOUS_WEIGHTS: Record<PreviousContent, number> = { absent: 60, same: 20, old: 20 };

export function planAgents(count: number, fileSize: number, random: SeededRandom): AgentPlan[] {
  return Array.from({ length: count }, (_, i) => {
    const plan: AgentPlan = {
      id: `agent-${String(i + 1).padStart(3, '0')}`,
      fault: random.weighted(FAULT_WEIGHTS),
      previous: random.weighted(PREVIOUS_WEIGHTS),
    };
    if (plan.fault === 'slow') plan.delayPerChunkMs = random.int(500, 9000);
    if (plan.fault === 'disconnect') plan.disconnectAfterBytes = random.int(1, Math.max(1, fileSize - 1));
    return plan;
  });
}

/** What one agent needs from the simulated world around it. */
interface AgentWorld {
  clock: Clock;
  transfers: LiveTransfers;
  readStaged: (name: string) => Uint8Array | undefined;
  chunkSize: number;
  previousBytes: { same: Uint8Array; old: Uint8Array };
  destination: string;
}

export interface SimulatedAgent {
  plan: AgentPlan;
  files: MemoryLocalFiles;
  link: InMemoryLink;
  channel: InMemoryClientChannel;
  /** The destination's bytes before the push (undefined when absent). */
  before: Uint8Array | undefined;
  /** The agent comes back: its link is up again and its connection no longer drops. */
  heal(): void;
}

/** One agent host: its own filesystem, sudo rules, file source and ReceiveFile, from its plan. */
function agentModule(plan: AgentPlan, world: AgentWorld, sourceFaults: FileSourceFaults): ContainerModule {
  return new ContainerModule(({ bind }) => {
    provide(bind, S.link, [], () => new InMemoryLink());
    provide(bind, S.agentFiles, [], () => {
      const files = new MemoryLocalFiles({
        dataDir: AGENT_DATA_DIR,
        uid: AGENT_UID,
        gid: AGENT_UID,
        // In the app group, so the agent can read (and compare) the app's 0640 files.
        memberOf: [APP_UID],
        accounts: {
          users: { root: 0, rport: AGENT_UID, app: APP_UID },
          groups: { root: 0, rport: AGENT_UID, app: APP_UID },
        },
      });
      files.mkdirp(SIM_DEST_DIR, { mode: 0o755, uid: AGENT_UID, gid: AGENT_UID });
      if (plan.previous !== 'absent')
        files.writeFile(world.destination, world.previousBytes[plan.previous], {
          mode: 0o640,
          uid: APP_UID,
          gid: APP_UID,
        });
      return files;
    });
    provide(bind, S.privileged, [S.agentFiles], (files) => {
      const chown = `/usr/bin/chown * ${AGENT_DATA_DIR}/filepush/*_rport_filepush`;
      const mv = `/usr/bin/mv ${AGENT_DATA_DIR}/filepush/*_rport_filepush *`;
      return new MemoryPrivilegedFiles(files, plan.fault === 'eperm-chown' ? [mv] : [chown, mv]);
    });
    provide(bind, S.source, [S.link], (link) => {
      const faults = sourceFaults;
      return new InMemoryFileSource({
        read: world.readStaged,
        clientId: plan.id,
        transfers: world.transfers,
        link,
        clock: world.clock,
        chunkSize: world.chunkSize,
        faults,
      });
    });
    provide(bind, S.receptionSettings, [], () => ({
      enabled: true,
      protectedPaths: ProtectedPaths.defaults('posix'),
      flavor: 'posix' as const,
      backup: false,
      allowSpecialBits: false,
      validators: {
        validators: { [SIM_VALIDATOR]: ['/usr/local/bin/config-check', '%s'] },
        timeoutMs: 30_000,
      },
    }));
    provide(bind, S.validatorRunner, [], () =>
      plan.fault === 'validator-fails'
        ? new InMemoryValidatorRunner(() => ({
            exitCode: 1,
            stderr: 'config-check: line 1: unknown directive\n',
          }))
        : new InMemoryValidatorRunner(() => ({ exitCode: 0 })),
    );
    constant(bind, S.agentClock, world.clock);
    provide(bind, S.agentChannel, [S.receive, S.link], (receive, link) => {
      const faults: ChannelFaults = { silent: plan.fault === 'silent', latencyMs: 20 };
      return new InMemoryClientChannel(receive, link, { clock: world.clock, faults });
    });
    provideRecord(bind, S.agent, { files: S.agentFiles, link: S.link, channel: S.agentChannel });
  });
}

export function buildAgent(plan: AgentPlan, world: AgentWorld): SimulatedAgent {
  const sourceFaults: FileSourceFaults = {
    corrupt: plan.fault === 'corrupt',
    delayPerChunkMs: plan.delayPerChunkMs,
    disconnectAfterBytes: plan.disconnectAfterBytes,
  };
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(
    agentModule(plan, world, sourceFaults),
    receptionModule({
      files: S.agentFiles,
      source: S.source,
      privileged: S.privileged,
      settings: S.receptionSettings,
      clock: S.agentClock,
      ownership: S.ownership,
      receive: S.receive,
      validatorRunner: S.validatorRunner,
    }),
  );
  const { files, link, channel } = resolve(container, S.agent);
  return {
    plan,
    files,
    link,
    channel,
    before: files.read(world.destination) && Uint8Array.from(files.read(world.destination) as Uint8Array),
    heal: () => {
      sourceFaults.disconnectAfterBytes = undefined;
      link.reconnect();
    },
  };
}
