import { expect } from 'chai';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import ssh2, { type ClientChannel } from 'ssh2';
import { MAX_LINE } from '../../src/adapters/ssh/protocol.ts';
import { MAX_PROTOCOL_ERRORS } from '../../src/adapters/ssh/server/control-channel.ts';
import { Cluster } from './helpers/cluster.ts';
import { challengeOf, helloLine, openControl, until } from '../adapters/ssh/rogue.ts';

const FLOOD_BYTES = 50 * 1024 * 1024;
const RSS_BOUND = 32 * 1024 * 1024;

/** Resident memory of a process, from /proc/<pid>/status (VmRSS is in kB). */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

function connectAgent(port: number, auth: string): Promise<ssh2.Client> {
  const [username, password] = [auth.slice(0, auth.indexOf(':')), auth.slice(auth.indexOf(':') + 1)];
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({
      host: '127.0.0.1',
      port,
      username,
      password,
      hostVerifier: () => true,
      readyTimeout: 10_000,
    });
  });
}

/**
 * The flood's lines, about 1 MiB at a time: well-formed progress lines for pushes that do not exist
 * (the server takes them and drops them), of every size up to just under the line limit, and a few
 * unknown messages, fewer than the error budget, whose answers the rogue never reads.
 */
function floodChunk(i: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let j = 0; size < 1024 * 1024; j++) {
    const pad = 'p'.repeat((Math.abs(i * 7919 + j * 104_729) % (MAX_LINE - 200)) + 1);
    const line =
      (i % 10 === 0 && j === 0
        ? JSON.stringify({ type: `unknown-${i}`, pad })
        : JSON.stringify({ type: 'progress', req_id: `none-${i}-${j}`, bytes: j, pad })) + '\n';
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

describe('e2e: a hostile agent floods its control channel; rportd stays small and answers (issue 17 #2)', function () {
  this.timeout(300_000);
  let c: Cluster;
  let rogue: ssh2.Client | undefined;

  before(async () => (c = await Cluster.start({ agents: [] })));
  after(async () => {
    rogue?.destroy();
    await c?.stop();
  });

  it('50 MB of lines, answers never read: rportd RSS grows by less than 32 MB and GET /api/v1/clients answers throughout', async () => {
    const pid = c.rportd.child.pid!;
    const clients = async (): Promise<{ status: number; ids: string[] }> => {
      const res = await fetch(`${c.url}/api/v1/clients`, { headers: { authorization: `Bearer ${c.token}` } });
      const body = (await res.json()) as { data?: { id: string; connected: boolean }[] };
      return { status: res.status, ids: (body.data ?? []).filter((x) => x.connected).map((x) => x.id) };
    };
    rogue = await connectAgent(c.sshPort, c.agentAuth);
    const control: ClientChannel = await openControl(rogue);
    // After the challenge, no 'data' listener: the server's answers pile up on the rogue's side of the channel.
    control.write(helloLine('flooder', await challengeOf(control)));
    await until(async () => (await clients()).ids.includes('flooder'));

    const send = async (chunk: Buffer): Promise<void> => {
      if (!control.write(chunk)) await once(control, 'drain');
    };
    // A first few MB let rportd's heap reach its working size before the baseline is taken.
    for (let i = 1; i <= 4; i++) await send(floodChunk(-i));
    await clients();
    const baseline = await rssOf(pid);

    let sent = 0;
    let peak = baseline;
    const answers: number[] = [];
    for (let i = 0; sent < FLOOD_BYTES; i++) {
      const chunk = floodChunk(i);
      await send(chunk);
      sent += chunk.length;
      if (i % 5 === 0) {
        peak = Math.max(peak, await rssOf(pid));
        const during = await clients();
        answers.push(during.status);
        expect(during.ids, 'the rogue is still connected: the flood is well-formed').to.include('flooder');
      }
    }
    // Unknown messages up to the error budget: the close proves rportd read the whole flood before them.
    const closed = once(rogue, 'close');
    for (let i = 0; i < MAX_PROTOCOL_ERRORS; i++) control.write(JSON.stringify({ type: 'junk' }) + '\n');
    await closed;
    await until(async () => !(await clients()).ids.includes('flooder'));
    peak = Math.max(peak, await rssOf(pid));
    const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
    console.log(
      `      flood: ${mb(sent)} MB sent; rportd RSS ${mb(baseline)} -> peak ${mb(peak)} MB (+${mb(peak - baseline)})`,
    );
    expect(sent).to.be.at.least(FLOOD_BYTES);
    expect(answers.length).to.be.at.least(10);
    expect(
      answers.every((s) => s === 200),
      `GET /api/v1/clients during the flood: ${answers.join(',')}`,
    ).to.equal(true);
    expect(peak - baseline, `RSS grew from ${mb(baseline)} to ${mb(peak)} MB`).to.be.below(RSS_BOUND);
  });
});
