// Runs a compiled entry from dist/ (built by `npm run build`, which `npm ci` runs through `prepare`).
// Plain JavaScript at run time keeps an agent small, where a TypeScript loader adds RSS (ADR 0002).
import { existsSync } from 'node:fs';

/** entry: a path under dist/ without .js, e.g. `composition/rportd/main` or `bundle/rport`. */
export async function launch(entry) {
  const url = new URL(`../dist/${entry}.js`, import.meta.url);
  if (!existsSync(url)) {
    console.error(
      `rport-ts is not built (${url.pathname} is missing): run \`npm run build\` in ${new URL('..', import.meta.url).pathname}`,
    );
    process.exit(1);
  }
  return import(url.href);
}
