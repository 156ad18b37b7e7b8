import { generateKeyPairSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { identityOf, type AgentIdentity } from '../../../src/adapters/ssh/agent/agent-key.ts';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientInfo } from '../../../src/domain/client.ts';
import type { PushOutcome } from '../../../src/domain/outcome.ts';
import type { ClientCredentials } from '../../../src/ports/client-credentials.ts';
import type { ClientPresence } from '../../../src/ports/client-presence.ts';
import type { Clock } from '../../../src/ports/clock.ts';
import type { Logger } from '../../../src/ports/logger.ts';
import type { LiveTransfers } from '../../../src/ports/live-transfers.ts';
import type { PrivilegedFiles } from '../../../src/ports/privileged-files.ts';
import type { ResultBroadcaster } from '../../../src/ports/result-broadcaster.ts';
import type { ResultStore } from '../../../src/ports/result-store.ts';
import type { StagedFile, StagingStore } from '../../../src/ports/staging-store.ts';
import type { AuditLog } from '../../../src/ports/audit-log.ts';

export const quietLogger = (): Logger & {
  lines: { level: string; message: string; fields: Record<string, unknown> }[];
} => {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) =>
    void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

export class MapCredentials implements ClientCredentials {
  constructor(private readonly entries: Record<string, string>) {}
  async verify(id: string, password: string): Promise<boolean> {
    return this.entries[id] === password;
  }
}

export class RecordingPresence extends EventEmitter implements ClientPresence {
  readonly clients = new Map<string, ClientInfo>();
  async announce(info: Omit<ClientInfo, 'connected'>): Promise<void> {
    this.clients.set(info.id, { ...info, connected: true });
    this.emit('announce', info.id);
  }
  async disconnected(id: string): Promise<void> {
    const c = this.clients.get(id);
    if (c) c.connected = false;
    this.emit('disconnected', id);
  }
  waitFor(event: 'announce' | 'disconnected', id: string): Promise<void> {
    return new Promise((resolve) => {
      const on = (got: string): void => {
        if (got !== id) return;
        this.off(event, on);
        resolve();
      };
      this.on(event, on);
    });
  }
}

export class SetLiveTransfers implements LiveTransfers {
  readonly granted = new Set<string>();
  grant(clientId: string, stagedName: string): void {
    this.granted.add(`${clientId}/${stagedName}`);
  }
  revoke(clientId: string, stagedName: string): void {
    this.granted.delete(`${clientId}/${stagedName}`);
  }
  isAllowed(clientId: string, stagedName: string): boolean {
    return this.granted.has(`${clientId}/${stagedName}`);
  }
}

export const realClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
    }),
};

export class NoPrivileges implements PrivilegedFiles {
  async chown(): Promise<void> {
    throw Object.assign(new Error('no privileges in this test'), { code: 'EPERM' });
  }
  async chmod(): Promise<void> {
    throw Object.assign(new Error('no privileges in this test'), { code: 'EPERM' });
  }
  async move(): Promise<void> {
    throw Object.assign(new Error('no privileges in this test'), { code: 'EPERM' });
  }
}

/** Staged files are written by the tests themselves; remove is what dispatch needs. */
export class DirStaging implements StagingStore {
  constructor(private readonly dir: string) {}
  async stage(): Promise<StagedFile> {
    throw new Error('not used in these tests');
  }
  async rename(): Promise<StagedFile> {
    throw new Error('not used in these tests');
  }
  async remove(uuid: string): Promise<void> {
    await rm(join(this.dir, `${uuid}_rport_filepush`), { force: true });
  }
  async sweep(): Promise<number> {
    return 0;
  }
}

export const nullAudit: AuditLog = { record: async () => undefined };

export class CollectingResults implements ResultStore, ResultBroadcaster {
  readonly outcomes: PushOutcome[] = [];
  async begin(): Promise<boolean> {
    return true;
  }
  async record(o: PushOutcome): Promise<boolean> {
    this.outcomes.push(o);
    return true;
  }
  async note(): Promise<void> {}
  async reopen(): Promise<string[]> {
    return [];
  }
  publish(): void {}
}

/** A fresh ed25519 agent key in memory (an agent's own key lives in its data_dir: loadOrCreateAgentKey). */
export const testIdentity = (): AgentIdentity => identityOf(generateKeyPairSync('ed25519').privateKey);
