import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  adapterViolationsIn,
  importsOf,
  programViolationsIn,
  scanAdapters,
  scanLayers,
  scanPrograms,
  specifiersOf,
  violationsIn,
} from './import-scanner.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const inDomain = join(SRC, 'domain', 'sample.ts');

describe('architecture: the domain and the ports depend on nothing outside themselves', () => {
  it('src/domain and src/ports import only src/domain and src/ports (no packages, no node:, no adapters, no composition)', async () => {
    const { files, violations } = await scanLayers(SRC);
    expect(files).to.be.greaterThan(20);
    expect(violations.map((v) => `${v.file}: "${v.specifier}" is ${v.why}`)).to.deep.equal([]);
  });

  it("the scanner reports `import { readFile } from 'node:fs'` in a domain file", () => {
    const v = violationsIn(
      inDomain,
      "import { readFile } from 'node:fs';\nexport const x = readFile;\n",
      SRC,
    );
    expect(v).to.deep.equal([{ file: inDomain, specifier: 'node:fs', why: 'a node: module' }]);
  });

  const cases: [string, string, string][] = [
    ['a bare package', "import { Container } from 'inversify';", 'inversify'],
    ['a type-only import of a package', "import type { Context } from 'koa';", 'koa'],
    [
      'an adapter',
      "import { FsLocalFiles } from '../adapters/fs/fs-local-files.ts';",
      '../adapters/fs/fs-local-files.ts',
    ],
    [
      'the composition root',
      "export { x } from '../composition/rport/container.ts';",
      '../composition/rport/container.ts',
    ],
    ['a re-export of everything', "export * from 'ssh2';", 'ssh2'],
    ['a dynamic import', "const fs = await import('node:fs/promises');", 'node:fs/promises'],
    ['a side-effect import', "import 'reflect-metadata';", 'reflect-metadata'],
    ['a multi-line import', "import {\n  readFile,\n  writeFile,\n} from 'fs';", 'fs'],
    ['a require', "const cp = require('child_process');", 'child_process'],
  ];
  for (const [what, source, specifier] of cases) {
    it(`the scanner reports ${what}`, () => {
      expect(violationsIn(inDomain, source, SRC).map((v) => v.specifier)).to.deep.equal([specifier]);
    });
  }

  it('the scanner reports a dynamic import with a computed specifier', () => {
    expect(
      violationsIn(inDomain, 'const m = await import(name);', SRC).map((v) => v.specifier),
    ).to.deep.equal(['<computed>']);
  });

  it('the scanner accepts imports within src/domain and src/ports', () => {
    const source =
      "import type { Clock } from '../ports/clock.ts';\nimport { failure } from './outcome.ts';\nexport type { PushVerdict } from './outcome.ts';";
    expect(violationsIn(inDomain, source, SRC)).to.deep.equal([]);
    expect(specifiersOf(source)).to.deep.equal(['../ports/clock.ts', './outcome.ts', './outcome.ts']);
  });

  it('the scanner ignores imports inside comments', () => {
    expect(
      violationsIn(inDomain, "// import { readFile } from 'node:fs';\n/* import x from 'koa'; */", SRC),
    ).to.deep.equal([]);
  });
});

describe('architecture: adapters never import the composition root', () => {
  const inAdapter = join(SRC, 'adapters', 'http', 'sample.ts');

  it('no file in src/adapters imports src/composition', async () => {
    const { files, violations } = await scanAdapters(SRC);
    expect(files).to.be.greaterThan(20);
    expect(violations.map((v) => `${v.file}: "${v.specifier}" is ${v.why}`)).to.deep.equal([]);
  });

  const cases: [string, string, string][] = [
    [
      'a value import',
      "import { startServer } from '../../composition/rportd/start.ts';",
      '../../composition/rportd/start.ts',
    ],
    [
      'a type-only import',
      "import type { Tokens } from '../../composition/shared/tokens.ts';",
      '../../composition/shared/tokens.ts',
    ],
    [
      'a re-export',
      "export * from '../../composition/rport/container.ts';",
      '../../composition/rport/container.ts',
    ],
    [
      'a dynamic import',
      "const m = await import('../../composition/demo/main.ts');",
      '../../composition/demo/main.ts',
    ],
  ];
  for (const [what, source, specifier] of cases) {
    it(`the scanner reports ${what} of src/composition from an adapter`, () => {
      expect(adapterViolationsIn(inAdapter, source, SRC).map((v) => v.specifier)).to.deep.equal([specifier]);
    });
  }

  it('the scanner accepts packages, node: modules, the domain, the ports and other adapters', () => {
    const source = [
      "import Koa from 'koa';",
      "import { join } from 'node:path';",
      "import type { Clock } from '../../ports/clock.ts';",
      "import { acceptUpload } from '../../domain/accept-upload.ts';",
      "import { FsLocalFiles } from '../fs/fs-local-files.ts';",
      "import { composeRoutes } from './composition.ts';",
    ].join('\n');
    expect(adapterViolationsIn(inAdapter, source, SRC)).to.deep.equal([]);
  });
});

describe('architecture: program folders never import one another', () => {
  const inProgram = (program: string) => join(SRC, 'composition', program, 'sample.ts');

  it('no folder of src/composition imports another program folder (shared/ is open to all)', async () => {
    const { files, violations } = await scanPrograms(SRC);
    expect(files).to.be.greaterThan(5);
    expect(violations.map((v) => `${v.file}: "${v.specifier}" is ${v.why}`)).to.deep.equal([]);
  });

  const programs = ['rportd', 'rport', 'rportcli', 'simulate', 'demo'];
  for (const [i, program] of programs.entries()) {
    const other = programs[(i + 1) % programs.length];
    it(`the scanner reports ${program}/ importing ${other}/`, () => {
      const source = `import { x } from '../${other}/container.ts';`;
      expect(programViolationsIn(inProgram(program), source, SRC)).to.deep.equal([
        {
          file: inProgram(program),
          specifier: `../${other}/container.ts`,
          why: `program ${other}, imported from program ${program} (composition/${other}/container.ts)`,
        },
      ]);
    });
  }

  it('the scanner reports a type-only import and a deep path into another program', () => {
    const source =
      "import type { Settings } from '../rportd/settings.ts';\nimport { y } from '../simulate/deep/agents.ts';";
    expect(programViolationsIn(inProgram('demo'), source, SRC).map((v) => v.specifier)).to.deep.equal([
      '../rportd/settings.ts',
      '../simulate/deep/agents.ts',
    ]);
  });

  it('the scanner reports shared/ importing a program, since a program would reach another through it', () => {
    const v = programViolationsIn(inProgram('shared'), "import { z } from '../rportd/start.ts';", SRC);
    expect(v.map((x) => x.why)).to.deep.equal([
      'program rportd, imported from the shared folder (composition/rportd/start.ts)',
    ]);
  });

  it('the scanner accepts shared/, its own folder, adapters, the domain, the ports and packages', () => {
    const source = [
      "import { wireUseCases } from '../shared/use-cases.ts';",
      "import { runServerCommand } from './command.ts';",
      "import { parse } from './sub/parse.ts';",
      "import { SqliteStore } from '../../adapters/sqlite/store.ts';",
      "import { AcceptUpload } from '../../domain/accept-upload.ts';",
      "import type { Clock } from '../../ports/clock.ts';",
      "import { Container } from 'inversify';",
    ].join('\n');
    expect(programViolationsIn(inProgram('rportd'), source, SRC)).to.deep.equal([]);
    expect(programViolationsIn(inProgram('shared'), "import { t } from './tokens.ts';", SRC)).to.deep.equal(
      [],
    );
  });
});

describe('architecture: the scanner tells type-only imports from the ones that load a module', () => {
  it('only `import type` and `export type` are erased; `import { type X }` still loads the module', () => {
    const source = [
      "import type { A } from './a.ts';",
      "export type { B } from './b.ts';",
      "import { type C } from './c.ts';",
      "import D, { type E } from './d.ts';",
      "import './f.ts';",
    ].join('\n');
    expect(importsOf(source).map((i) => [i.specifier, i.typeOnly])).to.deep.equal([
      ['./a.ts', true],
      ['./b.ts', true],
      ['./c.ts', false],
      ['./d.ts', false],
      ['./f.ts', false],
    ]);
  });
});
