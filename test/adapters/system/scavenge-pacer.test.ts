import { expect } from 'chai';
import { PerformanceObserver, constants } from 'node:perf_hooks';
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

/** A gc that only counts what it was asked for. */
function gcSpy(): { gc: (o?: { type?: string }) => void; calls: string[] } {
  const calls: string[] = [];
  return { gc: (o) => void calls.push(o?.type ?? 'full'), calls };
}

describe('ScavengePacer (young-generation GCs paced by bytes moved)', () => {
  it('scavenges once every `every` bytes when nothing else does', () => {
    const spy = gcSpy();
    const pacer = new ScavengePacer(2 * MiB, spy.gc, fakeCount());
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
    const scavenges = fakeCount();
    const pacer = new ScavengePacer(2 * MiB, spy.gc, scavenges);
    pacer.moved(1.5 * MiB);
    scavenges.count += 1; // V8's own, reported by the observer
    pacer.moved(MiB);
    expect(spy.calls, '1 MiB since that scavenge').to.deep.equal([]);
    pacer.moved(MiB);
    expect(spy.calls, '2 MiB since it').to.deep.equal(['minor']);
  });

  it("two pacers in one process: each counts its own bytes, and either one's scavenge resets both", () => {
    const spy = gcSpy();
    const scavenges = fakeCount();
    const [a, b] = [
      new ScavengePacer(2 * MiB, spy.gc, scavenges),
      new ScavengePacer(2 * MiB, spy.gc, scavenges),
    ];
    a.moved(MiB);
    b.moved(1.5 * MiB);
    expect(spy.calls, 'neither reached 2 MiB of its own').to.deep.equal([]);
    b.moved(MiB);
    expect(spy.calls).to.deep.equal(['minor']);
    expect(scavenges.count, 'b counted its own at once').to.equal(1);
    a.moved(1.5 * MiB);
    expect(spy.calls, "a counts from b's scavenge: 1.5 MiB").to.deep.equal(['minor']);
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
