import type { UploadStatus } from '../../adapters/rportcli-api/api-types.ts';
import type { RportApiClient } from '../../adapters/rportcli-api/rport-api-client.ts';
import type { WsResultsListener } from '../../adapters/rportcli-api/ws-results-listener.ts';
import type { ResultsTable } from './results-table.ts';

const POLL_MS = 2000;

/** Writes one of rportcli's own diagnostic lines (stderr, --verbose only). */
export type Say = (line: string) => void;

/**
 * Fills the table with an upload's outcomes until every target has one or timeoutS passes: first
 * the stored results, then the socket, falling back to polling the stored results if the socket
 * drops. Targets still without an outcome at the end are marked timed out. Returns the stored
 * results read first (the upload's parameters).
 */
export async function follow(
  api: RportApiClient,
  listener: WsResultsListener,
  uuid: string,
  table: ResultsTable,
  timeoutS: number,
  say: Say,
): Promise<UploadStatus> {
  // The socket delivers outcomes only; the targets (groups expanded) come from the stored results.
  const stored = await api.status(uuid);
  table.expect(stored.targets.map((t) => t.client_id));
  table.updateFinal(stored.targets);
  if (table.settled) return stored;

  await new Promise<void>((resolve) => {
    let poller: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(deadline);
      clearInterval(poller);
      unfollow();
      resolve();
    };
    const deadline = setTimeout(finish, timeoutS * 1000);
    const unfollow = listener.follow(
      uuid,
      (o) => {
        table.update(o);
        if (table.settled) finish();
      },
      (p) => table.progress(p.client_id, p.bytes, p.size),
    );
    listener.onDropped((reason) => {
      say(`results socket dropped (${reason}); polling the stored results every ${POLL_MS / 1000}s`);
      poller = setInterval(() => {
        api.status(uuid).then(
          (s) => {
            table.updateFinal(s.targets);
            if (table.settled) finish();
          },
          () => undefined, // keep polling until the deadline: the server may come back
        );
      }, POLL_MS);
    });
  });
  if (!table.settled) {
    // One last look at the stored results: an outcome may have been recorded while the socket was quiet.
    const last = await api.status(uuid).catch(() => undefined);
    table.updateFinal(last?.targets ?? []);
    if (!table.settled) say(`no outcome from every target within ${timeoutS}s`);
    table.timeOut(timeoutS);
  }
  return stored;
}

/**
 * Opens the results socket, saying so when verbose. With progress (a table redrawn on a terminal),
 * it asks for transfer progress too; output that is read line by line gets none of it.
 */
export async function listen(api: RportApiClient, say: Say, progress = false): Promise<WsResultsListener> {
  const listener = await api.listen(progress);
  say(`results listener connected to ${api.resultsUrl}`);
  return listener;
}
