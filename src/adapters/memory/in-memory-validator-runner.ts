import type { ValidatorRun, ValidatorRunner } from '../../ports/validator-runner.ts';

/** What a fake validator does with the argv it is given: how it ends, or an Error when it cannot start. */
export type FakeValidator = (argv: readonly string[]) => Partial<ValidatorRun> | Error;

/**
 * Runs validators as functions, for the domain tests and the simulation. Each run is recorded; a
 * run that says timedOut stands for one the real runner killed at its time limit.
 */
export class InMemoryValidatorRunner implements ValidatorRunner {
  readonly runs: { argv: string[]; timeoutMs: number }[] = [];

  constructor(private readonly validator: FakeValidator) {}

  async run(argv: readonly string[], timeoutMs: number): Promise<ValidatorRun> {
    this.runs.push({ argv: [...argv], timeoutMs });
    const ran = this.validator(argv);
    if (ran instanceof Error) throw ran;
    return {
      exitCode: ran.timedOut ? null : 0,
      timedOut: false,
      stdout: '',
      stderr: '',
      ...ran,
    };
  }
}
