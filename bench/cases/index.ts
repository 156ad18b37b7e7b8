import type { BenchCase } from '../lib/bench-case.ts';
import cluster from './cluster.ts';
import fanOut from './fan-out.ts';
import ingest from './ingest.ts';
import largeFanOut from './large-fan-out.ts';
import memory from './memory.ts';
import onePush from './one-push.ts';
import parsers from './parsers.ts';
import storm from './storm.ts';

/** In the order a full run takes them. */
export const CASES: BenchCase[] = [ingest, parsers, onePush, memory, fanOut, largeFanOut, storm, cluster];
