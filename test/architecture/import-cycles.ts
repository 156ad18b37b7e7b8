import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { importsOf, sourceFiles } from './import-scanner.ts';

/** For each file, the files of the set it imports; `true` when every import of that file is type-only. */
export type ImportGraph = Map<string, Map<string, boolean>>;

/** The file a relative specifier names, if it is one of `files` (specifiers here carry `.ts`; `.js` is mapped). */
function resolveIn(files: Set<string>, from: string, specifier: string): string | undefined {
  const target = resolve(dirname(from), specifier);
  return [target, target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')].find((c) =>
    files.has(c),
  );
}

/** The relative imports among a set of files, given as path → source text. */
export function importGraph(sources: Map<string, string>): ImportGraph {
  const files = new Set(sources.keys());
  const graph: ImportGraph = new Map();
  for (const [file, source] of sources) {
    const edges = new Map<string, boolean>();
    for (const { specifier, typeOnly } of importsOf(source)) {
      if (!specifier.startsWith('.')) continue;
      const target = resolveIn(files, file, specifier);
      if (target !== undefined) edges.set(target, (edges.get(target) ?? true) && typeOnly);
    }
    graph.set(file, edges);
  }
  return graph;
}

/**
 * Import cycles, each as the path of files that closes it (the first file again at the end). A
 * depth-first walk reports every import that leads back to a file still on its path, so a tangle
 * of files reports at least one cycle, and a graph without cycles reports none.
 */
export function cyclesIn(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const path: string[] = [];
  const onPath = new Set<string>();
  const finished = new Set<string>();
  const visit = (file: string) => {
    path.push(file);
    onPath.add(file);
    for (const target of graph.get(file)?.keys() ?? []) {
      if (onPath.has(target)) cycles.push([...path.slice(path.indexOf(target)), target]);
      else if (!finished.has(target)) visit(target);
    }
    path.pop();
    onPath.delete(file);
    finished.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!finished.has(file)) visit(file);
  return cycles;
}

/** A cycle as one line, relative to `root`; an edge that only imports types is drawn `-(type)->`. */
export function describeCycle(graph: ImportGraph, cycle: string[], root: string): string {
  const name = (f: string) => relative(root, f).split(sep).join('/');
  let line = name(cycle[0]);
  for (let i = 1; i < cycle.length; i++)
    line += `${graph.get(cycle[i - 1])?.get(cycle[i]) ? ' -(type)-> ' : ' -> '}${name(cycle[i])}`;
  return line;
}

/** The import cycles among the files of srcRoot, described relative to it. */
export async function scanCycles(srcRoot: string): Promise<{ files: number; cycles: string[] }> {
  const files = await sourceFiles(srcRoot);
  const sources = new Map(await Promise.all(files.map(async (f) => [f, await readFile(f, 'utf8')] as const)));
  const graph = importGraph(sources);
  return { files: files.length, cycles: cyclesIn(graph).map((c) => describeCycle(graph, c, srcRoot)) };
}
