import WebSocket from 'ws';
import { wakeOrTimeout } from './eventually.ts';
import type { PushOutcome } from '../../../src/domain/outcome.ts';

/** One message of GET /api/v1/ws/uploads, as the server sends it. */
export type Outcome = PushOutcome;

/** A listener on /api/v1/ws/uploads, opened before an upload (the server keeps no backlog); keeps every message. */
export class OutcomeListener {
  readonly received: Outcome[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.received.push(JSON.parse(data.toString()) as Outcome);
      for (const w of [...this.waiters]) w();
    });
  }

  static open(apiUrl: string, token: string): Promise<OutcomeListener> {
    const ws = new WebSocket(`${apiUrl.replace(/^http/, 'ws')}/api/v1/ws/uploads`, ['bearer', token]);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new OutcomeListener(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`the uploads socket was refused: HTTP ${res.statusCode}`)),
      );
    });
  }

  /** The outcomes of upload uuid once `count` have arrived, sorted by client id. */
  async outcomesOf(uuid: string, count: number, ms = 30_000): Promise<Outcome[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const mine = this.received
        .filter((o) => o.uuid === uuid)
        .sort((a, b) => a.client_id.localeCompare(b.client_id));
      if (mine.length >= count) return mine;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `only ${mine.length} of ${count} outcomes of upload ${uuid} arrived within ${ms / 1000} s: ${JSON.stringify(mine)}`,
        );
      await wakeOrTimeout(this.waiters, left);
    }
  }

  close(): void {
    this.ws.terminate();
  }
}
