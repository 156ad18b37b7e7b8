import type { BenchCase } from '../lib/bench-case.ts';
import ingest from './ingest.ts';
import onePush from './one-push.ts';

/** In the order a full run takes them. */
export const CASES: BenchCase[] = [ingest, onePush];
