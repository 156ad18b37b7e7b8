import { expect } from 'chai';
import { Container, ContainerModule } from 'inversify';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  constant,
  provide,
  provideRecord,
  resolve,
  token,
} from '../../../src/composition/shared/typed-wiring.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/swapped-binding.fixture.ts', import.meta.url));
const SWAPPED = '[T.staging, T.results, T.report]';
const IN_ORDER = '[T.results, T.staging, T.report]';

interface Finding {
  line: number;
  code: number;
  message: string;
}

/** Type-checks `source` as the fixture file with the repository's compiler options. */
function typeCheck(source: string, old?: ts.Program): { findings: Finding[]; program: ts.Program } {
  const config = ts.readConfigFile(`${ROOT}tsconfig.json`, (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) =>
    name === FIXTURE ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest);
  const program = ts.createProgram({ rootNames: [FIXTURE], options, host, oldProgram: old });
  const file = program.getSourceFile(FIXTURE)!;
  const findings = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map(
    (d) => ({
      line: file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1,
      code: d.code,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }),
  );
  return { findings, program };
}

describe('typed wiring: the type checker checks the bindings', function () {
  // Two compilations of a file that imports rportd's whole graph.
  this.timeout(120_000);

  it('a binding with two dependency tokens swapped fails tsc at that binding, and compiles in order', () => {
    const source = readFileSync(FIXTURE, 'utf8');
    expect(source, 'the fixture holds the swapped dependency list').to.include(SWAPPED);
    const factoryLine = source.split('\n').findIndex((l) => l.includes('new EndStrandedPushes(')) + 1;

    const swapped = typeCheck(source);
    expect(swapped.findings, 'the swapped binding compiles').to.not.deep.equal([]);
    for (const f of swapped.findings) {
      expect(f.line, `an error away from the binding: ${f.message}`).to.equal(factoryLine);
      expect(f.code, f.message).to.equal(2345); // argument not assignable to the parameter
    }
    expect(swapped.findings.map((f) => f.message).join('\n')).to.match(
      /FsStagingStore.*not assignable to.*PendingTargets/,
    );

    const inOrder = typeCheck(source.replace(SWAPPED, IN_ORDER), swapped.program);
    expect(inOrder.findings, 'the same binding, in order').to.deep.equal([]);
  });

  it('provideRecord resolves each field from its own token, once per container', () => {
    const T = {
      name: token<string>('name'),
      size: token<number>('size'),
      label: token<{ text: string }>('label'),
      record: token<{ size: number; label: { text: string } }>('record'),
    };
    const container = new Container({ defaultScope: 'Singleton' });
    container.load(
      new ContainerModule(({ bind }) => {
        constant(bind, T.name, 'agents');
        constant(bind, T.size, 3);
        provide(bind, T.label, [T.name, T.size], (name, size) => ({ text: `${size} ${name}` }));
        provideRecord(bind, T.record, { size: T.size, label: T.label });
      }),
    );
    const record = resolve(container, T.record);
    expect(record).to.deep.equal({ size: 3, label: { text: '3 agents' } });
    expect(record.label, 'a singleton: the record holds the bound instance').to.equal(
      resolve(container, T.label),
    );
  });
});
