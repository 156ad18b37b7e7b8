import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface ImportViolation {
  file: string;
  specifier: string;
  why: string;
}

/** One module a file loads; `typeOnly` when TypeScript erases it (`import type`, `export type`). */
export interface Import {
  specifier: string;
  typeOnly: boolean;
}

// Static imports/exports (`import x from`, `import 'x'`, `export * from`), dynamic `import('x')`, and `require('x')`.
// Only `import type` / `export type` are erased: under verbatimModuleSyntax, `import { type X }` stays as a
// side-effect import, so it loads the module at run time like any other import.
const STATIC = /\b(?:import|export)\s+(type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g;
const LOADERS = [/\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g, /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g];

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Every module a TypeScript source text imports, exports from, or loads dynamically. */
export function importsOf(source: string): Import[] {
  const code = withoutComments(source);
  const found: Import[] = [];
  for (const m of code.matchAll(STATIC)) found.push({ specifier: m[2], typeOnly: m[1] !== undefined });
  for (const re of LOADERS)
    for (const m of code.matchAll(re)) found.push({ specifier: m[1], typeOnly: false });
  return found;
}

/** Every module specifier a TypeScript source text imports, exports from, or loads dynamically. */
export function specifiersOf(source: string): string[] {
  return importsOf(source).map((i) => i.specifier);
}

/** A dynamic import with a computed specifier cannot be checked, so it is a violation too. */
const COMPUTED_IMPORT = /\bimport\s*\(\s*(?!['"`][^'"`]*['"`]\s*\))[^)]/;

function computedImportIn(file: string, source: string): ImportViolation[] {
  return COMPUTED_IMPORT.test(source.replace(/\/\*[\s\S]*?\*\//g, ''))
    ? [{ file, specifier: '<computed>', why: 'a dynamic import with a computed specifier' }]
    : [];
}

const isWithin = (dir: string, target: string) => target === dir || target.startsWith(dir + sep);

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
    if (!allowed.some((dir) => isWithin(dir, target))) {
      out.push({ file, specifier, why: `outside src/domain and src/ports (${relative(srcRoot, target)})` });
    }
  }
  return [...out, ...computedImportIn(file, source)];
}

/**
 * The violations of the adapter rule in one file: an adapter may use packages, the domain and the
 * ports, but never src/composition, which is where the adapters are wired (not the other way round).
 * Type-only imports count too: an adapter that needs a composition type has the layers upside down.
 */
export function adapterViolationsIn(file: string, source: string, srcRoot: string): ImportViolation[] {
  const composition = join(srcRoot, 'composition');
  const out: ImportViolation[] = [];
  for (const specifier of specifiersOf(source)) {
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier);
    if (isWithin(composition, target))
      out.push({ file, specifier, why: `src/composition, from an adapter (${relative(srcRoot, target)})` });
  }
  return [...out, ...computedImportIn(file, source)];
}

/** The folder under src/composition that holds a path ('' for a file directly in it, undefined outside). */
function compositionFolderOf(path: string, srcRoot: string): string | undefined {
  const composition = join(srcRoot, 'composition');
  if (!isWithin(composition, path)) return undefined;
  const parts = relative(composition, path).split(sep);
  return parts.length > 1 ? parts[0] : '';
}

/** What two programs share lives here, and any program may import it. */
export const SHARED_FOLDER = 'shared';

/**
 * The violations of the program rule in one file: each folder under src/composition except
 * `shared` is one program (rportd, rport, rportcli, simulate, demo), and no file of
 * src/composition imports a program folder other than its own. So programs never import one
 * another, and `shared` never imports a program (a program would then reach another through it).
 */
export function programViolationsIn(file: string, source: string, srcRoot: string): ImportViolation[] {
  const own = compositionFolderOf(file, srcRoot);
  const out: ImportViolation[] = [];
  for (const specifier of specifiersOf(source)) {
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier);
    const program = compositionFolderOf(target, srcRoot);
    if (program === undefined || program === '' || program === SHARED_FOLDER || program === own) continue;
    const from = own === SHARED_FOLDER ? 'the shared folder' : own ? `program ${own}` : 'src/composition';
    out.push({
      file,
      specifier,
      why: `program ${program}, imported from ${from} (${relative(srcRoot, target)})`,
    });
  }
  return [...out, ...computedImportIn(file, source)];
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

type Rule = (file: string, source: string, srcRoot: string) => ImportViolation[];

async function scan(
  srcRoot: string,
  dirs: string[],
  rule: Rule,
): Promise<{ files: number; violations: ImportViolation[] }> {
  const files = (await Promise.all(dirs.map((d) => sourceFiles(join(srcRoot, d))))).flat();
  const violations: ImportViolation[] = [];
  for (const f of files) violations.push(...rule(f, await readFile(f, 'utf8'), srcRoot));
  return { files: files.length, violations };
}

export const scanLayers = (srcRoot: string) => scan(srcRoot, ['domain', 'ports'], violationsIn);
export const scanAdapters = (srcRoot: string) => scan(srcRoot, ['adapters'], adapterViolationsIn);
export const scanPrograms = (srcRoot: string) => scan(srcRoot, ['composition'], programViolationsIn);
