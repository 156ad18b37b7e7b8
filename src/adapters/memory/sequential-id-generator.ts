import type { IdGenerator } from '../../ports/id-generator.ts';

/** UUID-shaped ids from a seed and a counter: unique, and the same sequence for the same seed. */
export class SequentialIdGenerator implements IdGenerator {
  private counter = 0;

  constructor(private readonly seed = 0) {}

  newId(): string {
    this.counter++;
    const s = (this.seed >>> 0).toString(16).padStart(8, '0');
    const n = this.counter.toString(16).padStart(12, '0');
    return `${s}-0000-4000-8000-${n}`;
  }
}
