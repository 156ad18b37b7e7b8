import type { ValidatorRunner } from '../ports/validator-runner.ts';
import { messageOf } from './errors.ts';
import type { PushRequest } from './push-request.ts';
import type { VerifiedFileStep } from './verified-file-step.ts';
import {
  argvFor,
  DEFAULT_VALIDATE_TIMEOUT_MS,
  firstLines,
  validatorNameProblem,
  VALIDATORS_KEY,
} from './validators.ts';

/** The agent's validators as rport.conf names them, and how long one may run. */
export interface ValidatorSettings {
  /** name -> argv with one `%s`, already checked by the config parser. */
  validators: Readonly<Record<string, readonly string[]>>;
  /** `[file-reception] validate_timeout`, in ms. */
  timeoutMs: number;
}

export const NO_VALIDATORS: ValidatorSettings = { validators: {}, timeoutMs: DEFAULT_VALIDATE_TIMEOUT_MS };

/**
 * Agent: the push's `validate` step. The request only names a validator; the command is the one
 * rport.conf gives that name, run on the verified temp file before anything is placed, and in a
 * check too (it is one of the verified-file steps ReceiveFile runs in both).
 */
export class ValidationStep {
  constructor(
    private readonly settings: ValidatorSettings,
    private readonly runner?: ValidatorRunner,
  ) {}

  /** Before the fetch: a request naming a validator this client does not have is refused at once. */
  refusal(req: PushRequest, dest: string): string | undefined {
    const problem = this.problem(req);
    return problem && `${problem}; ${dest} left untouched`;
  }

  /**
   * The verified-file step (see verified-file-step.ts): after the md5 check, before anything is
   * placed, in a real push and in a check alike. Says why the validator refused the file, if it did;
   * the caller adds what was left untouched.
   */
  readonly step: VerifiedFileStep = async (req, tempPath) => {
    if (req.validate === undefined) return undefined;
    const early = this.problem(req);
    if (early) return early;
    const name = req.validate;
    const argv = this.settings.validators[name];
    const who = `validator "${name}" (${VALIDATORS_KEY} ${name})`;
    let run;
    try {
      run = await this.runner!.run(argvFor(argv, tempPath), this.settings.timeoutMs);
    } catch (e) {
      return `${who} could not be run: ${messageOf(e)}`;
    }
    if (run.timedOut)
      return `${who} did not finish within ${spoken(this.settings.timeoutMs)} ([file-reception] validate_timeout) and was killed`;
    if (run.exitCode === 0) return undefined;
    const how = run.exitCode === null ? 'was killed by a signal' : `exited with code ${run.exitCode}`;
    const said = firstLines(run.stderr) || firstLines(run.stdout);
    return `${who} refused the file: it ${how}${said ? `: ${said}` : ' and wrote nothing'}`;
  };

  private problem(req: PushRequest): string | undefined {
    const name: unknown = req.validate;
    if (name === undefined) return undefined;
    if (typeof name !== 'string') return "validate must be a validator's name";
    const bad = validatorNameProblem(name);
    if (bad) return `validate: ${bad}`;
    if (!Object.hasOwn(this.settings.validators, name)) {
      const known = Object.keys(this.settings.validators);
      const names = known.length ? `it names ${known.join(', ')}` : 'it names none';
      return `validator "${name}" is not named in ${VALIDATORS_KEY} of this client's rport.conf (${names})`;
    }
    if (!this.runner) return 'this client cannot run validators';
    return undefined;
  }
}

function spoken(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
