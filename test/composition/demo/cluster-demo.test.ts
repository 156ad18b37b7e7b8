import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findHaproxy } from '../../../src/composition/demo/haproxy.ts';
import { findSystemBinary } from '../../../src/composition/demo/private-nats.ts';
import { postgresBin } from '../../../src/composition/demo/private-postgres.ts';
import { Proc } from '../../e2e/helpers/processes.ts';

const BUILT = fileURLToPath(new URL('../../../dist/composition/demo/main.js', import.meta.url));

/** The built demo and Debian's binaries; without them a loud skip, under CI=true a failure. */
async function requireClusterDemo(ctx: Mocha.Context): Promise<void> {
  const missing = [
    existsSync(BUILT) ? undefined : `${BUILT} (npm run build)`,
    postgresBin() ? undefined : 'postgresql',
    (await findSystemBinary('nats-server')) ? undefined : 'nats-server',
    (await findHaproxy()) ? undefined : 'haproxy',
  ].filter(Boolean);
  if (missing.length === 0) return;
  if (process.env.CI === 'true') throw new Error(`demo --cluster 3 needs ${missing.join(', ')}`);
  console.warn(
    `\n      !!! SKIPPING demo --cluster 3: missing ${missing.join(', ')}; under CI=true this fails\n`,
  );
  ctx.skip();
}

/** Whether pid still runs: a zombie (exited, not yet reaped by its parent, often init here) does not. */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('npm run demo -- --cluster 3 --once (dist/composition/demo/main.js as a process)', function () {
  this.timeout(300_000);
  let out = '';
  let code: number | null = null;

  before(async function () {
    await requireClusterDemo(this);
    const demo = new Proc('demo --cluster 3 --once', BUILT, ['--cluster', '3', '--once']);
    code = await demo.exited;
    out = demo.output();
  });

  const line = (re: RegExp): string => {
    // Headings are bold on a terminal: compare their text.
    const found = out
      .replaceAll('\x1b[1m', '')
      .replaceAll('\x1b[0m', '')
      .split('\n')
      .find((l) => re.test(l));
    expect(found, `no line matching ${re} in:\n${out}`).to.be.a('string');
    return found!;
  };

  it('starts three nodes with one host key, and nine agents spread over them through HAProxy', () => {
    expect(line(/the 3 nodes present one host key/)).to.match(
      /^check ok: the 3 nodes present one host key, SHA256:\S+$/,
    );
    expect(line(/agents connected through HAProxy/)).to.match(
      /^check ok: 9 of 9 agents connected through HAProxy, spread over node-\d \(\d\), node-\d \(\d\)/,
    );
  });

  it("each target is pushed by the node holding its client, and the bytes are in each one's home", () => {
    expect(line(/^check \w+: push 1: each target was pushed by the node holding its client/)).to.match(
      /^check ok: /,
    );
    expect(line(/^check \w+: push 2: each target was pushed by the node holding its client/)).to.match(
      /^check ok: /,
    );
    expect(line(/push 1: the file's bytes/)).to.match(/^check ok: /);
    expect(line(/push 2: the file's bytes/)).to.match(/^check ok: /);
    // Every outcome names the node that recorded it and the node holding the client.
    const outcomes = out.split('\n').filter((l) => /^ {2}cluster-client-\d /.test(l));
    expect(outcomes).to.have.length(18);
    for (const o of outcomes) expect(o).to.match(/ (success|error) +pushed by node-\d \(client on node-\d\)/);
  });

  it('after a SIGKILL, the dead node is marked DOWN and its agents reconnect to the others', () => {
    const victim = line(/^== Killing node-\d/).match(/Killing (node-\d)/)![1];
    expect(line(/agents of node-\d reconnected/)).to.match(
      new RegExp(
        `^check ok: the \\d agents of ${victim} reconnected through HAProxy to node-\\d, node-\\d within`,
      ),
    );
    expect(line(/HAProxy marked/)).to.match(new RegExp(`^check ok: HAProxy marked ${victim} DOWN`));
  });

  it('stops everything it started, by pid, and removes its folder', () => {
    const last = out.trimEnd().split('\n').at(-1)!;
    const m = last.match(/^--once: \d+ of \d+ checks held: stopped (.*); removed (\S+)\.$/);
    expect(m, last).to.not.equal(null);
    const pids = [...m![1].matchAll(/\(pid (\d+)[,)]/g)].map((p) => Number(p[1]));
    // PostgreSQL, nats-server, HAProxy, three nodes and nine agents.
    expect(pids).to.have.length(15);
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(existsSync(m![2])).to.equal(false);
    expect(out).not.to.match(/Ctrl-C/);
  });

  it('every check held: both pushes reached all nine agents, and --once exited 0', () => {
    expect(line(/push 1: \d of 9 targets succeeded/)).to.equal('check ok: push 1: 9 of 9 targets succeeded');
    expect(line(/push 2: \d of 9 targets succeeded/)).to.equal('check ok: push 2: 9 of 9 targets succeeded');
    expect(out).to.not.contain('check FAILED');
    expect(code, out).to.equal(0);
  });
});
