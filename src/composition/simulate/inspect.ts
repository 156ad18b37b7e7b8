// What a simulation run left behind, read back and checked against the invariants of a push.
import type { OutcomeStatus, PushOutcome } from '../../domain/outcome.ts';
import {
  APP_UID,
  SIM_DEST_DIR,
  type AgentFault,
  type PreviousContent,
  type SimulatedAgent,
} from './agents.ts';
import type { SimulatedServer } from './tokens.ts';

/** One agent's row of the result table. */
export interface AgentResult {
  clientId: string;
  fault: AgentFault;
  previous: PreviousContent;
  status: OutcomeStatus | 'none';
  message: string;
  /** How many final outcomes the server recorded / broadcast / audited for this agent. */
  recorded: number;
  broadcast: number;
  audited: number;
  /** Virtual seconds after the push when an offline or dropped agent came back; undefined for the others. */
  cameBackAfter?: number;
  /** What the destination holds now. */
  destination: 'new' | 'previous' | 'absent' | 'other';
  tempFilesLeft: number;
  /** The backup the outcome names (the push asks for one), and whether it holds the replaced bytes. */
  backup?: string;
  backupHoldsPrevious?: boolean;
}

export interface SimulationReport {
  seed: number;
  uuid: string;
  rows: AgentResult[];
  counts: Record<OutcomeStatus, number>;
  stagedLeft: number;
  liveTransfersLeft: number;
  /** Targets that waited in the offline queue: served once their agent came back, or ended when their time was over. */
  queue: { queued: number; served: number; expired: number };
  /** Broken invariants, empty when the run is sound. */
  violations: string[];
}

export function inspect(
  seed: number,
  uuid: string,
  agents: SimulatedAgent[],
  server: SimulatedServer,
  expected: { content: Uint8Array; destination: string },
): SimulationReport {
  const { results, broadcaster, audit, staging, transfers } = server;
  const outcomes = results.outcomes(uuid);
  const count = (list: { client_id?: string }[], id: string) => list.filter((o) => o.client_id === id).length;
  const violations: string[] = [];
  const rows = agents.map((a): AgentResult => {
    const id = a.plan.id;
    const outcome: PushOutcome | undefined = outcomes.find((o) => o.client_id === id);
    const now = a.files.read(expected.destination);
    const destination =
      now === undefined
        ? 'absent'
        : same(now, expected.content)
          ? 'new'
          : a.before && same(now, a.before)
            ? 'previous'
            : 'other';
    const row: AgentResult = {
      clientId: id,
      fault: a.plan.fault,
      previous: a.plan.previous,
      status: outcome?.status ?? 'none',
      message: outcome?.message ?? '',
      recorded: count(outcomes, id),
      broadcast: count(broadcaster.published, id),
      audited: count(audit.entries, id),
      destination,
      tempFilesLeft: a.files.tempFiles().length,
      ...backupOf(a, outcome),
    };
    if (row.recorded !== 1 || row.broadcast !== 1 || row.audited !== 1)
      violations.push(
        `${id}: ${row.recorded} recorded, ${row.broadcast} broadcast, ${row.audited} audited outcomes (want exactly 1 each)`,
      );
    if (destination === 'other')
      violations.push(
        `${id}: the destination holds bytes that are neither the new file nor its previous content`,
      );
    if (destination === 'absent' && a.before)
      violations.push(`${id}: the previous destination file was lost`);
    if (row.status === 'success') {
      const st = a.files.lstat(expected.destination);
      if (destination !== 'new' || st?.mode !== 0o640 || st.uid !== APP_UID)
        violations.push(
          `${id}: success reported but the destination is ${destination} with mode ${st?.mode.toString(8)} uid ${st?.uid}`,
        );
    }
    if (row.status === 'error' && destination === 'new' && a.plan.previous !== 'same')
      violations.push(`${id}: error reported but the new file was placed`);
    violations.push(...validatorAndBackupViolations(a, row));
    if (row.tempFilesLeft > 0)
      violations.push(`${id}: ${row.tempFilesLeft} temp file(s) left in the agent's filepush dir`);
    return row;
  });
  if (staging.names().length > 0) violations.push(`server: staged files left: ${staging.names().join(', ')}`);
  if (transfers.size > 0) violations.push(`server: ${transfers.size} live transfer grant(s) left`);
  const counts: Record<OutcomeStatus, number> = { success: 0, ignored: 0, error: 0 };
  for (const r of rows) if (r.status !== 'none') counts[r.status]++;
  return {
    seed,
    uuid,
    rows,
    counts,
    stagedLeft: staging.names().length,
    liveTransfersLeft: transfers.size,
    queue: { queued: 0, served: 0, expired: 0 },
    violations,
  };
}

/** The backup an outcome names, and whether it holds what the destination held before. */
function backupOf(a: SimulatedAgent, outcome: PushOutcome | undefined): Partial<AgentResult> {
  if (outcome?.backup === undefined) return {};
  const kept = a.files.read(outcome.backup);
  return { backup: outcome.backup, backupHoldsPrevious: !!kept && !!a.before && same(kept, a.before) };
}

/**
 * A refusing validator never lets a file be placed; a replaced file is always kept (the push asks
 * for backup=true) and the outcome names the copy, which holds the replaced bytes.
 */
function validatorAndBackupViolations(a: SimulatedAgent, row: AgentResult): string[] {
  const id = a.plan.id;
  const out: string[] = [];
  if (a.plan.fault === 'validator-fails' && row.status === 'success')
    out.push(`${id}: success reported though its validator refused the file`);
  const replaced = row.status === 'success' && a.plan.previous === 'old';
  if (replaced && !row.backupHoldsPrevious)
    out.push(
      `${id}: the replaced file was not kept as a backup holding its bytes (${row.backup ?? 'none named'})`,
    );
  if (!replaced && row.backup !== undefined) out.push(`${id}: a backup is named though nothing was replaced`);
  const baks = a.files.list(SIM_DEST_DIR).filter((p) => p.endsWith('.bak'));
  if (baks.length !== (row.backup ? 1 : 0))
    out.push(`${id}: ${baks.length} backup file(s) beside the destination: ${baks.join(', ')}`);
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}
