import { effectOf, withDiffs } from './results-table.ts';
import type {
  ClientGroupSummary,
  ClientSummary,
  UploadStatus,
} from '../../adapters/rportcli-api/api-types.ts';
import { formatTable } from './output.ts';

export function clientsTable(clients: ClientSummary[]): string[] {
  if (clients.length === 0) return ['no clients are known yet'];
  return formatTable(
    ['ID', 'NAME', 'HOSTNAME', 'OS', 'CONNECTED', 'TAGS'],
    clients.map((c) => [
      c.id,
      c.name ?? '',
      c.hostname ?? '',
      c.os ?? '',
      c.connected ? 'yes' : 'no',
      (c.tags ?? []).join(','),
    ]),
  );
}

export function groupsTable(groups: ClientGroupSummary[]): string[] {
  if (groups.length === 0) return ['no client groups'];
  const params = (g: ClientGroupSummary): string =>
    Object.entries(g.params ?? {})
      .filter(([, v]) => Array.isArray(v) && v.length > 0)
      .map(([k, v]) => `${k}=${(v as string[]).join('|')}`)
      .join(' ');
  return formatTable(
    ['ID', 'DESCRIPTION', 'ALLOWED USER GROUPS', 'SELECTS'],
    groups.map((g) => [g.id, g.description ?? '', (g.allowed_user_groups ?? []).join(','), params(g)]),
  );
}

export function statusLines(s: UploadStatus): string[] {
  const head = Object.entries(s.upload)
    .filter(
      ([, v]) =>
        v !== null && v !== undefined && (typeof v !== 'object' || (Array.isArray(v) && v.length > 0)),
    )
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  return [
    ...head,
    '',
    ...withDiffs(
      formatTable(
        ['CLIENT', 'STATUS', 'RESULT', 'MESSAGE'],
        s.targets.map((t) => [t.client_id, t.status, effectOf(t, s.upload.sync === true), t.message]),
      ),
      s.targets,
    ),
  ];
}
