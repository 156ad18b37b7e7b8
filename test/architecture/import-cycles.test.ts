import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { cyclesIn, describeCycle, importGraph, scanCycles } from './import-cycles.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const at = (name: string) => join(SRC, name);

/** The cycles among sample files (name → source), one line each. */
function cyclesOf(files: Record<string, string>): string[] {
  const graph = importGraph(new Map(Object.entries(files).map(([name, source]) => [at(name), source])));
  return cyclesIn(graph).map((c) => describeCycle(graph, c, SRC));
}

// Type-only imports count. They are erased at run time, so a cycle made only of them cannot load a
// module half-initialised; but it still ties the files together: neither can be read, moved or
// tested without the other, which is what this rule is for. The tree has no such cycle, so the
// stricter rule costs nothing today, and the report marks type-only edges so a cycle is easy to cut.
describe('architecture: no import cycles in src/ (type-only imports count too)', () => {
  it('the files of src/ import one another without a cycle, counting `import type`', async () => {
    const { files, cycles } = await scanCycles(SRC);
    expect(files).to.be.greaterThan(100);
    expect(cycles).to.deep.equal([]);
  });

  it('the scanner reports a cycle of three files with its path', () => {
    expect(
      cyclesOf({
        'domain/a.ts': "import { b } from './b.ts';",
        'domain/b.ts': "import { c } from '../ports/c.ts';",
        'ports/c.ts': "export { a } from '../domain/a.ts';",
      }),
    ).to.deep.equal(['domain/a.ts -> domain/b.ts -> ports/c.ts -> domain/a.ts']);
  });

  it('the scanner reports a cycle made of type-only imports, and marks those edges', () => {
    expect(
      cyclesOf({
        'ports/a.ts': "import type { B } from './b.ts';",
        'ports/b.ts': "import { type A } from './a.ts';",
      }),
    ).to.deep.equal(['ports/a.ts -(type)-> ports/b.ts -> ports/a.ts']);
  });

  it('the scanner reports a file that imports itself, and a cycle closed by a dynamic import', () => {
    expect(
      cyclesOf({
        'adapters/self.ts': "import { x } from './self.ts';",
        'composition/rportd/main.ts': "import { go } from './command.ts';",
        'composition/rportd/command.ts': "const m = await import('./main.ts');",
      }),
    ).to.deep.equal([
      'adapters/self.ts -> adapters/self.ts',
      'composition/rportd/command.ts -> composition/rportd/main.ts -> composition/rportd/command.ts',
    ]);
  });

  it('the scanner accepts a diamond (two paths to one file) and ignores packages', () => {
    expect(
      cyclesOf({
        'domain/top.ts': "import { l } from './left.ts';\nimport { r } from './right.ts';",
        'domain/left.ts': "import { b } from './bottom.ts';\nimport { readFile } from 'node:fs';",
        'domain/right.ts': "import type { B } from './bottom.ts';",
        'domain/bottom.ts': "export const b = 1;\n// import { t } from './top.ts';",
      }),
    ).to.deep.equal([]);
  });
});
