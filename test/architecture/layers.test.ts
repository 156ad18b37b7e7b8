import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { scanLayers, specifiersOf, violationsIn } from './import-scanner.ts';

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
