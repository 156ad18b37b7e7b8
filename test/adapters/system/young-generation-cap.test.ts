import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CHILD = fileURLToPath(new URL('./young-generation-child.ts', import.meta.url));
const CAP = 4 * 1024 * 1024;

/** Runs the child (its own process: the flag it sets is process-wide) and returns the largest young generation it saw. */
async function largestYoungGeneration(cap: number): Promise<{ largest: number; capped: boolean }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, String(cap)], {
    timeout: 60_000,
  });
  return JSON.parse(stdout) as { largest: number; capped: boolean };
}

describe("capYoungGeneration (rportd's idle RSS)", function () {
  this.timeout(90_000);

  it('an uncapped process grows its young generation past the cap under the same load', async () => {
    const r = await largestYoungGeneration(0);
    expect(r.capped).to.equal(false);
    expect(r.largest).to.be.greaterThan(CAP);
  });

  it('a capped process stops growing at the cap (V8 still honours the growth factor set at run time)', async () => {
    const r = await largestYoungGeneration(CAP);
    expect(r.capped).to.equal(true);
    expect(r.largest).to.equal(CAP);
  });
});
