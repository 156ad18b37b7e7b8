import { expect } from 'chai';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import sinon from 'sinon';
import { processScavenges, ScavengePacer } from '../../../src/adapters/system/scavenge-pacer.ts';

const MiB = 1024 * 1024;

/** A process count the test moves by hand (V8's own scavenges) and the pacers move when they force one. */
function fakeCount(): { count: number; forced(): void } {
  return {
    count: 0,
    forced() {
      this.count += 1;
    },
  };
}

describe('ScavengePacer (young-generation GCs paced by bytes moved)', () => {
  it('scavenges once every `every` bytes when nothing else does, asking for a young-generation GC only', () => {
    const gc = sinon.spy();
    const pacer = new ScavengePacer(2 * MiB, gc, fakeCount());
    pacer.moved(MiB);
    expect(gc.callCount, 'under the bound').to.equal(0);
    pacer.moved(MiB);
    expect(gc.callCount).to.equal(1);
    pacer.moved(MiB);
    expect(gc.callCount, 'counting starts again after its own').to.equal(1);
    pacer.moved(MiB);
    expect(gc.callCount).to.equal(2);
    sinon.assert.alwaysCalledWithExactly(gc, { type: 'minor' });
  });

  it('counts from the last scavenge of any cause: none is forced right after V8 ran one', () => {
    const gc = sinon.spy();
    const scavenges = fakeCount();
    const pacer = new ScavengePacer(2 * MiB, gc, scavenges);
    pacer.moved(1.5 * MiB);
    scavenges.count += 1; // V8's own, reported by the observer
    pacer.moved(MiB);
    expect(gc.callCount, '1 MiB since that scavenge').to.equal(0);
    pacer.moved(MiB);
    expect(gc.callCount, '2 MiB since it').to.equal(1);
  });

  it("two pacers in one process: each counts its own bytes, and either one's scavenge resets both", () => {
    const gc = sinon.spy();
    const scavenges = fakeCount();
    const [a, b] = [new ScavengePacer(2 * MiB, gc, scavenges), new ScavengePacer(2 * MiB, gc, scavenges)];
    a.moved(MiB);
    b.moved(1.5 * MiB);
    expect(gc.callCount, 'neither reached 2 MiB of its own').to.equal(0);
    b.moved(MiB);
    expect(gc.callCount).to.equal(1);
    expect(scavenges.count, 'b counted its own at once').to.equal(1);
    a.moved(1.5 * MiB);
    expect(gc.callCount, "a counts from b's scavenge: 1.5 MiB").to.equal(1);
  });

  it("the process count: a forced scavenge counts once, at once, and not again when V8 reports it; V8's own count when reported", async () => {
    const count = processScavenges();
    expect(processScavenges(), 'one observer per process').to.equal(count);
    const before = count.count;
    // A second observer hears V8's report of the forced scavenge in the same delivery as the pacers' one.
    const reported = new Promise<void>((resolve) => {
      const o = new PerformanceObserver((list) => {
        if (
          list
            .getEntries()
            .some(
              (e) =>
                ((e as unknown as { detail?: { flags?: number } }).detail?.flags ?? 0) &
                constants.NODE_PERFORMANCE_GC_FLAGS_FORCED,
            )
        ) {
          o.disconnect();
          resolve();
        }
      });
      o.observe({ entryTypes: ['gc'] });
    });
    new ScavengePacer(1).moved(1); // the real gc, forced
    expect(count.count, 'counted when forced').to.equal(before + 1);
    await reported;
    await new Promise((r) => setImmediate(r));
    expect(count.count, 'the report of a forced one is skipped').to.equal(before + 1);
    for (let i = 0; i < 20 && count.count === before + 1; i++) {
      const garbage: object[] = [];
      for (let j = 0; j < 200_000; j++) garbage.push({ j }); // young objects: V8 scavenges on its own
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(count.count, "V8's own scavenges counted").to.be.greaterThan(before + 1);
  });
});
