import type { FieldRules } from '../../../src/domain/upload-fields.ts';
import { AcceptUpload } from '../../../src/domain/accept-upload.ts';
import type { Caller } from '../../../src/domain/caller.ts';
import type { ClientInfo } from '../../../src/domain/client.ts';
import type { ClientGroup } from '../../../src/domain/client-group.ts';
import { DispatchToClients, type DispatchSettings } from '../../../src/domain/dispatch-to-clients.ts';
import { ReportResult } from '../../../src/domain/report-result.ts';
import type { FormPart, UploadForm } from '../../../src/ports/upload-form.ts';
import { InMemoryAuditLog } from '../../../src/adapters/memory/in-memory-audit-log.ts';
import { InMemoryClientChannels } from '../../../src/adapters/memory/in-memory-client-channels.ts';
import { InMemoryClientGroupStore } from '../../../src/adapters/memory/in-memory-client-group-store.ts';
import { InMemoryClientRegistry } from '../../../src/adapters/memory/in-memory-client-registry.ts';
import { InMemoryLiveTransfers } from '../../../src/adapters/memory/in-memory-live-transfers.ts';
import { InMemoryResultBroadcaster } from '../../../src/adapters/memory/in-memory-result-broadcaster.ts';
import { InMemoryResultStore } from '../../../src/adapters/memory/in-memory-result-store.ts';
import { InMemoryStagingStore } from '../../../src/adapters/memory/in-memory-staging-store.ts';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.ts';
import { MemoryLogger } from '../../../src/adapters/memory/memory-logger.ts';
import { SequentialIdGenerator } from '../../../src/adapters/memory/sequential-id-generator.ts';

export const ADMIN: Caller = { username: 'admin', admin: true, groups: ['Administrators'] };

export const client = (id: string, over: Partial<ClientInfo> = {}): ClientInfo => ({
  id,
  name: `name-${id}`,
  hostname: `host-${id}`,
  os: 'linux',
  tags: [],
  version: '0.1.0',
  connected: true,
  fileReception: { enabled: true, protected: [] },
  ...over,
});

export const group = (id: string, params: ClientGroup['params'], allowed: string[] = []): ClientGroup => ({
  id,
  description: '',
  params,
  allowed_user_groups: allowed,
});

export async function* chunks(...parts: (string | Uint8Array)[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

type PartSpec = [string, string] | { file: string | Uint8Array; name?: string; filename?: string };

/** An upload form from fields and a file part, in the given order. */
export function form(...specs: PartSpec[]): UploadForm {
  return {
    async *parts(): AsyncIterable<FormPart> {
      for (const s of specs) {
        if (Array.isArray(s)) yield { kind: 'field', name: s[0], value: s[1] };
        else
          yield {
            kind: 'file',
            name: s.name ?? 'upload',
            filename: s.filename ?? 'file.txt',
            content: chunks(s.file),
          };
      }
    },
  };
}

/** The server's use cases over in-memory adapters. */
export function makeServer(
  opts: {
    maxBytes?: number;
    fieldRules?: FieldRules;
    dispatch?: Partial<DispatchSettings>;
    clients?: ClientInfo[];
    groups?: ClientGroup[];
  } = {},
) {
  const clock = new ManualClock();
  const staging = new InMemoryStagingStore();
  const registry = new InMemoryClientRegistry(opts.clients ?? []);
  const groups = new InMemoryClientGroupStore(opts.groups ?? []);
  const results = new InMemoryResultStore();
  const broadcaster = new InMemoryResultBroadcaster();
  const audit = new InMemoryAuditLog();
  const channels = new InMemoryClientChannels();
  const transfers = new InMemoryLiveTransfers();
  const logger = new MemoryLogger();
  const report = new ReportResult(results, broadcaster, audit, clock);
  const settings: DispatchSettings = { concurrency: 4, timeoutMs: 30_000, ...opts.dispatch };
  const dispatch = new DispatchToClients(channels, transfers, staging, report, clock, logger, settings);
  const accept = new AcceptUpload(
    staging,
    registry,
    groups,
    results,
    audit,
    dispatch,
    new SequentialIdGenerator(7),
    clock,
    opts.maxBytes ?? 1024,
    opts.fieldRules,
  );
  return {
    clock,
    staging,
    registry,
    groups,
    results,
    broadcaster,
    audit,
    channels,
    transfers,
    logger,
    report,
    dispatch,
    accept,
  };
}
