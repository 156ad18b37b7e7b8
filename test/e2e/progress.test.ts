import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import ssh2, { type ClientChannel } from 'ssh2';
import WebSocket from 'ws';
import { PROGRESS_STEPS } from '../../src/domain/transfer-progress.ts';
import { helloAs, until } from '../adapters/ssh/rogue.ts';
import { Cluster } from './helpers/cluster.ts';
import { wakeOrTimeout } from './helpers/eventually.ts';
import { PausingProxy } from './helpers/pausing-proxy.ts';

const MiB = 1024 * 1024;
const SIZE = 4 * MiB;

type Message = Record<string, unknown>;

/** A listener on /api/v1/ws/uploads with the given query; keeps every message in order. */
class Listener {
  readonly got: Message[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.got.push(JSON.parse(d.toString()) as Message);
      for (const w of [...this.waiters]) w();
    });
  }

  static open(c: Cluster, query: string): Promise<Listener> {
    const ws = new WebSocket(`${c.url.replace(/^http/, 'ws')}/api/v1/ws/uploads${query}`, [
      'bearer',
      c.token,
    ]);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Listener(ws)));
      ws.once('error', reject);
    });
  }

  of(uuid: string): Message[] {
    return this.got.filter((m) => m.uuid === uuid);
  }

  /** Every message of upload uuid up to and including its outcome from clientId. */
  async untilOutcome(uuid: string, clientId: string, ms = 60_000): Promise<Message[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const mine = this.of(uuid);
      const at = mine.findIndex((m) => m.type === undefined && m.client_id === clientId);
      if (at >= 0) return mine;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no outcome of ${uuid} from ${clientId} within ${ms / 1000} s: ${JSON.stringify(mine)}`,
        );
      await wakeOrTimeout(this.waiters, left);
    }
  }

  close(): void {
    this.ws.terminate();
  }
}

const progressOf = (messages: Message[]): number[] =>
  messages.filter((m) => m.type === 'progress').map((m) => m.bytes as number);

function connectRaw(port: number, auth: string): Promise<ssh2.Client> {
  const colon = auth.indexOf(':');
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({
      host: '127.0.0.1',
      port,
      username: auth.slice(0, colon),
      password: auth.slice(colon + 1),
      hostVerifier: () => true,
      readyTimeout: 10_000,
    });
  });
}

describe('e2e: live progress per client on /api/v1/ws/uploads?progress=1 (issue 20 item 3)', function () {
  this.timeout(120_000);
  let c: Cluster | undefined;
  let proxy: PausingProxy | undefined;
  let rogue: ssh2.Client | undefined;
  const listeners: Listener[] = [];

  before(async () => {
    proxy = await new PausingProxy().listen();
    c = await Cluster.start({ agents: [], maxFilepushSize: 16 * MiB });
    proxy.target = c.sshPort;
    await c.addAgent({ id: 'slow-1', port: proxy.port });
  });
  after(async () => {
    for (const l of listeners) l.close();
    rogue?.destroy();
    await c?.stop();
    await proxy?.close();
  });

  it('a real agent fetching 4 MiB over a link that stalls half-way: progress before the outcome, rising, never above the size', async () => {
    const cluster = c!;
    const asks = await Listener.open(cluster, '?progress=1');
    const plain = await Listener.open(cluster, '');
    listeners.push(asks, plain);
    const content = randomBytes(SIZE);
    // After the first MiB of the file the link holds the rest for longer than the agent's interval.
    const stalled = proxy!.pauseAfter(MiB, 1500);
    const up = await cluster.upload({ name: 'upload', filename: 'big.bin', content }, [
      ['client_id', 'slow-1'],
      ['dest', cluster.dest('srv/big.bin')],
    ]);
    expect(up.status, JSON.stringify(up.body)).to.equal(200);
    const uuid = (up.body.data as { uuid: string }).uuid;
    await stalled;
    const seen = await asks.untilOutcome(uuid, 'slow-1');
    const outcome = seen[seen.length - 1];
    expect(outcome).to.include({ status: 'success', client_id: 'slow-1', size: SIZE });
    const bytes = progressOf(seen);
    expect(bytes.length, JSON.stringify(seen)).to.be.at.least(1);
    expect(seen.slice(0, -1).every((m) => m.type === 'progress')).to.equal(true);
    for (const m of seen.slice(0, -1)) expect(m).to.include({ uuid, client_id: 'slow-1', size: SIZE });
    expect(bytes.every((b, i) => b > 0 && b <= SIZE && (i === 0 || b > bytes[i - 1]))).to.equal(true);
    const placed = await readFile(cluster.onHost('slow-1', 'srv/big.bin'));
    expect(createHash('md5').update(placed).digest('hex')).to.equal(
      createHash('md5').update(content).digest('hex'),
    );
    // The listener that did not ask: the outcome only.
    await plain.untilOutcome(uuid, 'slow-1');
    expect(plain.of(uuid)).to.deep.equal([outcome]);
  });

  it(`a hostile agent flooding progress lines: at most ${PROGRESS_STEPS} messages per push, rising, within the size, none after the outcome`, async () => {
    const cluster = c!;
    const asks = await Listener.open(cluster, '?progress=1');
    listeners.push(asks);
    rogue = await connectRaw(cluster.sshPort, cluster.agentAuth);
    const { control, lines, refused } = await helloAs(rogue, 'flooder');
    expect(refused).to.equal(undefined);
    await cluster.waitConnected(['flooder']);

    const push = async (size: number): Promise<{ uuid: string; reqId: string }> => {
      const before = lines.length;
      const up = await cluster.upload({ name: 'upload', filename: 'f.bin', content: randomBytes(size) }, [
        ['client_id', 'flooder'],
        ['dest', '/srv/f.bin'],
      ]);
      expect(up.status, JSON.stringify(up.body)).to.equal(200);
      await until(() => lines.slice(before).some((l) => l.type === 'push'));
      const line = lines.slice(before).find((l) => l.type === 'push')!;
      return { uuid: (up.body.data as { uuid: string }).uuid, reqId: String(line.req_id) };
    };
    const send = async (text: string): Promise<void> => {
      if (!control.write(text)) await once(control as ClientChannel, 'drain');
    };
    const flood = async (reqId: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i += 1000) {
        let chunk = '';
        for (let j = i; j < i + 1000; j++) {
          const bytes = [j * 4099, -j, SIZE * 3 + j, (j * 7919) % SIZE, 1e300][j % 5];
          chunk += JSON.stringify({ type: 'progress', req_id: reqId, bytes }) + '\n';
          // Progress for a push this connection was never sent: dropped by rportd.
          if (j % 100 === 0) chunk += JSON.stringify({ type: 'progress', req_id: `x${j}`, bytes: j }) + '\n';
        }
        await send(chunk);
      }
    };

    const first = await push(SIZE);
    await flood(first.reqId, 30_000);
    await send(
      JSON.stringify({
        type: 'result',
        req_id: first.reqId,
        status: 'success',
        message: 'ok',
        changed: true,
      }) + '\n',
    );
    const seen = await asks.untilOutcome(first.uuid, 'flooder');
    const bytes = progressOf(seen);
    expect(bytes.length).to.be.within(1, PROGRESS_STEPS);
    expect(bytes.every((b, i) => b <= SIZE && Number.isInteger(b) && (i === 0 || b > bytes[i - 1]))).to.equal(
      true,
    );

    // After its outcome the push is over: more lines for it reach no listener. A second push's outcome
    // marks the point by which they would have arrived.
    await flood(first.reqId, 5_000);
    const second = await push(1024);
    await send(
      JSON.stringify({ type: 'result', req_id: second.reqId, status: 'success', message: 'ok' }) + '\n',
    );
    await asks.untilOutcome(second.uuid, 'flooder');
    expect(asks.of(first.uuid)).to.deep.equal(seen);
    expect(asks.of(second.uuid).map((m) => m.type ?? m.status)).to.deep.equal(['success']);
    console.log(
      `      flood: 30,000 progress lines for one live push gave listeners ${bytes.length} message(s)`,
    );
  });
});
