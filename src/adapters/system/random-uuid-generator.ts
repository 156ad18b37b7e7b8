import { randomUUID } from 'node:crypto';
import type { IdGenerator } from '../../ports/id-generator.ts';

/** Upload ids: random v4 UUIDs, never chosen by a client. */
export class RandomUuidGenerator implements IdGenerator {
  newId(): string {
    return randomUUID();
  }
}
