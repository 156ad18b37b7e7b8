// Runs a compiled entry from dist/ (built by `npm run build`, which `npm ci` runs through `prepare`).
// Plain JavaScript at run time keeps an agent near 70 MB RSS, where a TypeScript loader adds ~35 MB.
import { existsSync } from 'node:fs';

export async function launch(entry) {
  const url = new URL(`../dist/composition/${entry}.js`, import.meta.url);
  if (!existsSync(url)) {
    console.error(`rport-ts is not built (${url.pathname} is missing): run \`npm run build\` in ${new URL('..', import.meta.url).pathname}`);
    process.exit(1);
  }
  return import(url.href);
}
