import { expect } from 'chai';
import { processScavenges, ScavengePacer } from '../../../src/adapters/system/scavenge-pacer.ts';

const MiB = 1024 * 1024;

/** A gc that only counts what it was asked for. */
function gcSpy(): { gc: (o?: { type?: string }) => void; calls: string[] } {
  const calls: string[] = [];
  return { gc: (o) => void calls.push(o?.type ?? 'full'), calls };
}

describe('ScavengePacer (young-generation GCs paced by bytes moved)', () => {
  it('scavenges once every `every` bytes when nothing else does', () => {
    const spy = gcSpy();
    const pacer = new ScavengePacer(2 * MiB, spy.gc, { count: 0 });
    pacer.moved(MiB);
    expect(spy.calls, 'under the bound').to.deep.equal([]);
    pacer.moved(MiB);
    expect(spy.calls).to.deep.equal(['minor']);
    pacer.moved(MiB);
    expect(spy.calls, 'counting starts again after its own').to.deep.equal(['minor']);
    pacer.moved(MiB);
    expect(spy.calls).to.deep.equal(['minor', 'minor']);
  });

  it('counts from the last scavenge of any cause: none is forced right after V8 ran one', () => {
    const spy = gcSpy();
    const scavenges = { count: 0 };
    const pacer = new ScavengePacer(2 * MiB, spy.gc, scavenges);
    pacer.moved(1.5 * MiB);
    scavenges.count += 1; // V8's own, or another agent's pacer in the same process
    pacer.moved(MiB);
    expect(spy.calls, '1 MiB since that scavenge').to.deep.equal([]);
    pacer.moved(MiB);
    expect(spy.calls, '2 MiB since it').to.deep.equal(['minor']);
  });

  it('two pacers in one process: each counts its own bytes, and either one\'s scavenge resets both', () => {
    const spy = gcSpy();
    const scavenges = { count: 0 };
    const [a, b] = [new ScavengePacer(2 * MiB, spy.gc, scavenges), new ScavengePacer(2 * MiB, spy.gc, scavenges)];
    a.moved(MiB);
    b.moved(1.5 * MiB);
    expect(spy.calls, 'neither reached 2 MiB of its own').to.deep.equal([]);
    b.moved(MiB);
    expect(spy.calls).to.deep.equal(['minor']);
    scavenges.count += 1; // what the process's gc observer reports after b's scavenge
    a.moved(1.5 * MiB);
    expect(spy.calls, 'a counts from b\'s scavenge: 1.5 MiB').to.deep.equal(['minor']);
  });

  it('the process count sees a real young-generation GC', async () => {
    const count = processScavenges();
    expect(processScavenges(), 'one observer per process').to.equal(count);
    const before = count.count;
    const pacer = new ScavengePacer(1); // the real gc: every byte forces a scavenge
    for (let i = 0; i < 50 && count.count === before; i++) {
      pacer.moved(1);
      await new Promise((r) => setTimeout(r, 10)); // the observer reports on a later turn
    }
    expect(count.count).to.be.greaterThan(before);
  });
});
