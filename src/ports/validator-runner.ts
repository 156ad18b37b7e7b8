/** How one validator run ended. */
export interface ValidatorRun {
  /** The exit code; null when the process ended by a signal (a timeout's kill among them). */
  exitCode: number | null;
  /** True when the time limit passed and the process group was killed. */
  timedOut: boolean;
  /** The start of what the process wrote, each capped; the rest is dropped. */
  stdout: string;
  stderr: string;
}

/**
 * Agent side: runs a validator named in rport.conf, as the agent's own user. The argv is run as
 * given, never through a shell. A process that cannot be started throws, with a message naming
 * argv[0].
 */
export interface ValidatorRunner {
  run(argv: readonly string[], timeoutMs: number): Promise<ValidatorRun>;
}
