// The agent's two use cases, wired once for every program that runs them: rport over the real
// filesystem and sudo, the simulation over in-memory fakes. Each program's token table holds these
// tokens, bound to its own adapters.
import { ContainerModule } from 'inversify';
import { ApplyOwnership } from '../../domain/apply-ownership.ts';
import { ReceiveFile, type ReceptionSettings } from '../../domain/receive-file.ts';
import { NO_VALIDATORS, ValidationStep } from '../../domain/validation-step.ts';
import type { Clock } from '../../ports/clock.ts';
import type { FileSource } from '../../ports/file-source.ts';
import type { LocalFiles } from '../../ports/local-files.ts';
import type { PrivilegedFiles } from '../../ports/privileged-files.ts';
import type { ValidatorRunner } from '../../ports/validator-runner.ts';
import { provide, type Token } from './typed-wiring.ts';

/** What the use cases are made of (bound by the program) and the use cases (bound here). */
interface ReceptionTokens {
  files: Token<LocalFiles>;
  source: Token<FileSource>;
  privileged: Token<PrivilegedFiles>;
  settings: Token<ReceptionSettings>;
  clock: Token<Clock>;
  ownership: Token<ApplyOwnership>;
  receive: Token<ReceiveFile>;
  validatorRunner: Token<ValidatorRunner>;
}

/** Binds ApplyOwnership and ReceiveFile over the program's bindings of the other tokens. */
export function receptionModule(t: ReceptionTokens): ContainerModule {
  return new ContainerModule(({ bind }) => {
    provide(
      bind,
      t.ownership,
      [t.files, t.privileged],
      (files, privileged) => new ApplyOwnership(files, privileged),
    );
    provide(
      bind,
      t.receive,
      [t.files, t.source, t.privileged, t.ownership, t.settings, t.clock, t.validatorRunner],
      (files, source, privileged, ownership, settings, clock, runner) =>
        new ReceiveFile(
          files,
          source,
          privileged,
          ownership,
          settings,
          clock,
          [],
          // Its step runs on the verified temp file in a real push and in a check alike.
          new ValidationStep(settings.validators ?? NO_VALIDATORS, runner),
        ),
    );
  });
}
