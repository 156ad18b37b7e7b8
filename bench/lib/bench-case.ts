import type { Children } from './children.ts';
import type { Figure } from './figures.ts';

export interface BenchContext {
  /** A fresh directory for this benchmark's files; the runner removes it. */
  tmp: string;
  /** The same on a memory filesystem (a tmpfs the runner mounts, as root only; undefined elsewhere); the runner removes it. */
  memTmp?: string;
  /** Smaller sizes, for a smoke test of the harness. */
  quick: boolean;
  children: Children;
  /** Where product processes write --cpu-prof profiles, when profiling was asked for. */
  profileDir?: string;
  /** A progress line on the terminal. */
  log(message: string): void;
  /** Records a figure at once, so that a later failure or timeout keeps it. */
  add(figure: Figure): void;
}

export interface BenchCase {
  name: string;
  /** One line for --list and the docs. */
  summary: string;
  /** Upper bound for the whole benchmark (full sizes); the runner kills it after this. */
  timeoutMs: number;
  run(ctx: BenchContext): Promise<void>;
}
