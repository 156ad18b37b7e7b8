import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface ImportViolation {
  file: string;
  specifier: string;
  why: string;
}

// Static imports/exports (`import x from`, `import 'x'`, `export * from`), dynamic `import('x')`, and `require('x')`.
const PATTERNS = [
  /\b(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
];

/** Every module specifier a TypeScript source text imports, exports from, or loads dynamically. */
export function specifiersOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  for (const re of PATTERNS) for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

/** A dynamic import with a computed specifier cannot be checked, so it is a violation too. */
const COMPUTED_IMPORT = /\bimport\s*\(\s*(?!['"`][^'"`]*['"`]\s*\))[^)]/;

/**
 * The violations of the layer rule in one file: src/domain and src/ports may import only files
 * inside src/domain and src/ports (no package, no node: module, no adapter, no composition).
 */
export function violationsIn(file: string, source: string, srcRoot: string): ImportViolation[] {
  const allowed = [join(srcRoot, 'domain'), join(srcRoot, 'ports')];
  const out: ImportViolation[] = [];
  for (const specifier of specifiersOf(source)) {
    if (!specifier.startsWith('.')) {
      out.push({ file, specifier, why: specifier.startsWith('node:') ? 'a node: module' : 'a package' });
      continue;
    }
    const target = resolve(dirname(file), specifier);
    if (!allowed.some((dir) => target === dir || target.startsWith(dir + sep))) {
      out.push({ file, specifier, why: `outside src/domain and src/ports (${relative(srcRoot, target)})` });
    }
  }
  if (COMPUTED_IMPORT.test(source.replace(/\/\*[\s\S]*?\*\//g, '')))
    out.push({ file, specifier: '<computed>', why: 'a dynamic import with a computed specifier' });
  return out;
}

export async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? sourceFiles(join(dir, e.name))
        : Promise.resolve(/\.(c|m)?[jt]sx?$/.test(e.name) ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

export async function scanLayers(srcRoot: string): Promise<{ files: number; violations: ImportViolation[] }> {
  const files = [
    ...(await sourceFiles(join(srcRoot, 'domain'))),
    ...(await sourceFiles(join(srcRoot, 'ports'))),
  ];
  const violations: ImportViolation[] = [];
  for (const f of files) violations.push(...violationsIn(f, await readFile(f, 'utf8'), srcRoot));
  return { files: files.length, violations };
}
