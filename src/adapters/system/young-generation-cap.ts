import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * rportd's young generation (both semi-spaces, V8's `new_space`) stops growing at this size; V8's
 * default lets it grow to 32 MiB on 64-bit. Why: a reconnect storm grows it to the maximum, and V8
 * keeps its pages resident afterwards, idle or not, a large part of rportd's idle RSS with 1000 agents
 * connected. This size is the smallest that kept the ingest time; smaller ones made uploads slower
 * (docs/benchmarks.md, "Server memory").
 */
export const SERVER_YOUNG_GENERATION = 8 * 1024 * 1024;

/** The young generation's current capacity, both semi-spaces (V8's `new_space`). */
export function youngGenerationSize(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

interface YoungGenerationCap {
  /** Whether the size was reached and growth stopped. */
  readonly capped: boolean;
}

/**
 * Lets V8's young generation grow as usual up to `bytes`, then stops its growth: after each GC the
 * young generation's size is read, and once it reaches `bytes` the growth factor becomes 1.
 *
 * Why this way: `--max-semi-space-size` is read only when the heap is set up, so it cannot be set
 * from inside a process started as `rportd` or `node bin/rportd.js`; the growth factor is read at each
 * growth, and setting it at run time works (test/adapters/system/young-generation-cap.test.ts checks
 * that a capped process stays at its size while an uncapped one grows past it, so a Node that stops
 * honouring the flag fails that test). Call it once, early, in the server's own process only: the
 * flag is process-wide.
 */
export function capYoungGeneration(bytes: number): YoungGenerationCap {
  let capped = false;
  const check = (): void => {
    if (capped || youngGenerationSize() < bytes) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    capped = true;
    observer.disconnect();
  };
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  check();
  return {
    get capped() {
      return capped;
    },
  };
}
