import { StringDecoder } from 'node:string_decoder';
import type { ClientInfo } from '../../domain/client.ts';
import type { OutcomeStatus } from '../../domain/outcome.ts';
import type { PushRequest } from '../../domain/push-request.ts';
import { TLS_FETCH_FEATURE, type FetchOffer } from '../tls/fetch-offer.ts';

/** docs/protocol.md: the version lives in the subsystem name so that both ends can tell at once. */
export const PROTOCOL_VERSION = 2;
export const CONTROL_SUBSYSTEM = 'rport-control@v2';
/** Protocol 1's subsystem: still accepted, only to tell such an agent what to upgrade. */
export const LEGACY_CONTROL_SUBSYSTEM = 'rport-control@v1';
/** The first protocol whose hello proves an agent key: what an older agent must be upgraded to. */
export const UPGRADE_AGENT =
  'this rportd speaks control protocol 2, where each agent proves its own key at hello (issue 17); ' +
  'upgrade the agent (rport) to the version of this rportd';
/** Largest SFTP READ the server serves: ssh2's 256 KiB packet limit minus its 2 KiB overhead. */
export const MAX_READ = 256 * 1024 - 2 * 1024;
export const MAX_LINE = 64 * 1024;

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  id: string;
  name: string;
  hostname: string;
  os: string;
  tags: string[];
  version: string;
  file_reception: { enabled: boolean; protected: string[] };
  /** The agent's ed25519 public key, base64 of its 32 bytes. */
  key: string;
  /** base64 ed25519 signature over the challenge, id and key (hello-proof.ts). */
  proof: string;
  /** What this agent understands beyond protocol 2's pushes, e.g. `check` and `diff`; older agents leave it out. */
  features?: string[];
}

export type AgentMessage =
  | HelloMessage
  | { type: 'progress'; req_id: string; bytes: number }
  | {
      type: 'result';
      req_id: string;
      status: OutcomeStatus;
      message: string;
      /** Whether the file's content, mode or owner changed; older agents leave it out. */
      changed?: boolean;
      /** The path of the backup the push kept of the replaced file; absent when none was kept. */
      backup?: string;
      /** Asked for with `diff`: the diff, or a line saying why there is none. */
      diff?: string;
    };

export type ServerMessage =
  | { type: 'challenge'; protocol: number; challenge: string }
  | { type: 'welcome'; protocol: number; max_read: number }
  | { type: 'error'; message: string }
  | { type: 'push'; req_id: string; request: PushRequest; tls?: FetchOffer }
  | { type: 'cancel'; req_id: string };

export const encodeLine = (m: AgentMessage | ServerMessage): string => JSON.stringify(m) + '\n';

/** True when a line (without its newline) is over MAX_LINE bytes of UTF-8. */
const tooLong = (s: string): boolean =>
  s.length > MAX_LINE || (s.length * 3 > MAX_LINE && Buffer.byteLength(s) > MAX_LINE);

/**
 * Splits a byte stream into lines; calls onError once when a line is too long. The limit holds per
 * line, however the bytes were cut into chunks: a long line that ends inside one chunk is refused as
 * surely as one still growing.
 */
export class LineSplitter {
  private pending = '';
  private failed = false;
  /** Keeps a UTF-8 character cut between two chunks whole. */
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onError: (problem: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    if (this.failed) return;
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      start = nl + 1;
      if (tooLong(line)) return this.fail();
      if (line.trim() !== '') this.onLine(line);
      if (this.failed) return;
    }
    this.pending = text.slice(start);
    if (tooLong(this.pending)) this.fail();
  }

  /** Takes no more lines (the channel is closing). */
  stop(): void {
    this.failed = true;
    this.pending = '';
  }

  private fail(): void {
    this.stop();
    this.onError(`a control line is longer than ${MAX_LINE} bytes`);
  }
}

export function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isStr = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length <= max;
const isStrList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length <= 256 && v.every((s) => isStr(s, 1024));

/** A checked hello: the client it announces, and the key it proves. */
export interface ParsedHello {
  info: Omit<ClientInfo, 'connected'>;
  key: string;
  proof: string;
  /** Optional push fields the agent acts on (see AGENT_FEATURES); empty for an older agent. */
  features: string[];
}

/** The optional push fields this agent acts on: a server sends a check only to an agent that announces it. */
export const AGENT_FEATURES = ['check', 'diff', TLS_FETCH_FEATURE];

/** Checks a hello; returns what it announces or a sentence naming the bad field. */
export function parseHello(m: Record<string, unknown>): ParsedHello | string {
  if (m.type !== 'hello') return `expected a hello message first, got type ${JSON.stringify(m.type)}`;
  if (m.protocol === 1) return `hello.protocol 1 is no longer accepted: ${UPGRADE_AGENT}`;
  if (m.protocol !== PROTOCOL_VERSION)
    return `hello.protocol ${JSON.stringify(m.protocol)} is not supported; this server speaks ${PROTOCOL_VERSION}`;
  if (!isStr(m.id) || !/^[A-Za-z0-9._:@-]{1,128}$/.test(m.id))
    return 'hello.id must be 1-128 characters of letters, digits, . _ : @ -';
  for (const key of ['name', 'hostname', 'os', 'version'] as const) {
    if (!isStr(m[key])) return `hello.${key} must be a string of at most 256 characters`;
  }
  if (!isStrList(m.tags)) return 'hello.tags must be a list of strings';
  const fr = m.file_reception as Record<string, unknown> | undefined;
  if (typeof fr !== 'object' || fr === null || typeof fr.enabled !== 'boolean' || !isStrList(fr.protected)) {
    return 'hello.file_reception must be { enabled: boolean, protected: string[] }';
  }
  if (!isStr(m.key, 64)) return 'hello.key must be a string: the base64 of an ed25519 public key';
  if (!isStr(m.proof, 128)) return 'hello.proof must be a string: the base64 of an ed25519 signature';
  return {
    info: {
      id: m.id,
      name: m.name as string,
      hostname: m.hostname as string,
      os: m.os as string,
      tags: m.tags,
      version: m.version as string,
      fileReception: { enabled: fr.enabled, protected: fr.protected },
    },
    key: m.key,
    proof: m.proof,
    // Optional and additive: anything but a list of short strings counts as none.
    features: isStrList(m.features) ? m.features.slice(0, 32) : [],
  };
}

export const isOutcomeStatus = (s: unknown): s is OutcomeStatus =>
  s === 'success' || s === 'ignored' || s === 'error';
